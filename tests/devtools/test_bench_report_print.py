"""The benchmark report as printed: every check with its target, and a failed one marked."""

from __future__ import annotations

from rich.console import Console

from activity.devtools.bench.report_print import print_report, rounds_table
from tests.devtools.test_bench import _report, _rounds


def printed(**kw: object) -> str:
    console = Console(record=True, width=200)
    print_report(_report(**kw), console)
    return console.export_text()


def row(text: str, figure: str) -> str:
    (found,) = [line for line in text.splitlines() if figure in line]
    return found


def test_a_passing_report_prints_each_figure_with_its_target_and_pass() -> None:
    text = printed()
    assert text.splitlines()[0] == "test"  # the environment
    rss = row(text, "peak RSS")
    assert "80 MB" in rss and "< 150 MB" in rss and rss.rstrip(" │").endswith("pass")
    assert "FAIL" not in text


def test_a_failed_check_is_marked_on_its_own_row() -> None:
    text = printed(peak_rss_mb=400.0)
    rss = row(text, "peak RSS")
    assert "400 MB" in rss and rss.rstrip(" │").endswith("FAIL")
    assert text.count("FAIL") == 1


def test_the_rounds_table_has_a_row_per_round() -> None:
    console = Console(record=True, width=200)
    console.print(rounds_table(_report(rounds=_rounds(service=700, floor=1000))))
    text = console.export_text()
    assert "service" in text and "floor" in text
