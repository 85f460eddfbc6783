"""Create New Subscription: the request and the reading of Rokt's answer."""

from __future__ import annotations

import pytest

from activity.errors import RoktRetryable
from activity.rokt.subscribe_api import Subscribed, subscribe_request, subscribed


def test_request_path_quotes_both_segments() -> None:
    request = subscribe_request("acme/x", "cal 1", {"subscriptionMethod": "WebCal"})
    assert (request.method, request.path) == ("POST", "/v2/subscribe/acme%2Fx/cal%201")
    assert request.body == {"subscriptionMethod": "WebCal"}
    assert request.endpoint == "subscribe"


ID_1 = "0b6c1f7e-3c1d-4f5e-9a8b-1c2d3e4f5a6b"
ID_2 = "8f0e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"


def test_webcal_google_pending_and_existing_answers() -> None:
    webcal = {"subscriptionId": ID_1, "subscriptionUrl": "webcal://x", "isNewSubscription": True}
    assert subscribed(webcal) == Subscribed(ID_1, "webcal://x", True, "")
    pending = {"subscriptionType": "Google", "redirectTo": "https://consent"}
    assert subscribed(pending) == Subscribed("", "https://consent", True, "Google")
    existing = {"subscriptionType": "Google", "subscriptionId": ID_2, "isNewSubscription": False}
    assert subscribed(existing) == Subscribed(ID_2, "", False, "Google")


@pytest.mark.parametrize(
    "answer",
    [
        {"subscriptionId": "x" * 200_000, "subscriptionUrl": "webcal://x"},
        {"subscriptionId": ID_1, "subscriptionUrl": "javascript:alert(1)"},
        {"redirectTo": "https://consent/" + "a" * 3000},
    ],
)
def test_an_answer_that_is_no_id_or_link_is_retryable(answer: dict[str, object]) -> None:
    with pytest.raises(RoktRetryable, match="not a"):
        subscribed(answer)


@pytest.mark.parametrize("answer", [{}, {"subscriptionId": 5}, {"subscriptionUrl": " "}])
def test_an_answer_without_id_or_url_is_retryable(answer: dict[str, object]) -> None:
    with pytest.raises(RoktRetryable, match="neither a subscriptionId nor a URL"):
        subscribed(answer)
