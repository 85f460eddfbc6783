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


def test_webcal_google_pending_and_existing_answers() -> None:
    webcal = {"subscriptionId": "id-1", "subscriptionUrl": "webcal://x", "isNewSubscription": True}
    assert subscribed(webcal) == Subscribed("id-1", "webcal://x", True, "")
    pending = {"subscriptionType": "Google", "redirectTo": "https://consent"}
    assert subscribed(pending) == Subscribed("", "https://consent", True, "Google")
    existing = {"subscriptionType": "Google", "subscriptionId": "id-2", "isNewSubscription": False}
    assert subscribed(existing) == Subscribed("id-2", "", False, "Google")


@pytest.mark.parametrize("answer", [{}, {"subscriptionId": 5}, {"subscriptionUrl": " "}])
def test_an_answer_without_id_or_url_is_retryable(answer: dict[str, object]) -> None:
    with pytest.raises(RoktRetryable, match="neither a subscriptionId nor a URL"):
        subscribed(answer)
