"""The web app in a real browser: Playwright driving Debian's Chromium (/usr/bin/chromium).

Never ``playwright install`` (it downloads; this machine cannot). A screenshot of every page
goes to .ci/artifacts/screenshots/ (git-ignored) for a person to look at. Chromium's fake
microphone (``--use-fake-device-for-media-stream``) records a tone; the fake endpoint's
transcription route turns any recording into a fixed sentence.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.config import Settings
from tests.conftest import ROOT
from tests.helpers import CASE, INTERVIEW_BLOCKS
from tests.webapp import Served

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
        "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
SHOTS = ROOT / ".ci" / "artifacts" / "screenshots"
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2"> p99 at peak'

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs it (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _served(tmp: Path, settings: Settings | None = None) -> Served:
    """A server for the whole module, on a database of its own."""
    return Served(settings, db=tmp / "interviewer.db", secret=secrets.token_urlsafe(16)).start()


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    s = _served(tmp_path_factory.mktemp("web-offline"))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Any]:
    from evals.fake_endpoint import FakeEndpoint

    with FakeEndpoint() as ep:
        yield ep


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory, endpoint: Any) -> Iterator[Served]:
    s = _served(tmp_path_factory.mktemp("web-model"),
                Settings(base_url=endpoint.url, model="fake-model"))
    yield s
    s.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    def accept(dialog: Any) -> None:
        dialog.accept()

    pg.on("dialog", accept)
    pg.accept_dialogs = accept  # a test that answers a dialog otherwise removes this one
    pg.errors = errors
    yield pg
    context.close()
    assert not errors, f"script errors on the page: {errors}"


def shot(page: Any, name: str, full: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def start(page: Any, app: Served, case: str = CASE, mode: str = "exam") -> str:
    page.goto(app.url + "/")
    page.check(f'input[name="case_id"][value="{case}"]')
    page.check(f'input[name="mode"][value="{mode}"]')
    page.click("button.primary.big")
    page.wait_for_url(re.compile(r"/s/[a-z0-9]+$"))
    expect(page.locator("#answer")).to_be_focused()
    return str(page.url.rsplit("/", 1)[1])


def seq(page: Any) -> int:
    return int(page.get_attribute("body", "data-seq"))


def send(page: Any, text: str) -> None:
    """Type an answer and send it with Ctrl+Enter; wait until the reply is in."""
    before = seq(page)
    page.fill("#answer", text)
    page.press("#answer", "Control+Enter")
    expect(page.locator("body")).to_have_attribute("data-seq", str(before + 1))


def click(page: Any, command: str) -> None:
    before = seq(page)
    page.click(f'button[data-command="{command}"]')
    expect(page.locator("body")).to_have_attribute("data-seq", str(before + 1))


def turns(page: Any, selector: str = ".turn") -> list[str]:
    return [t.strip() for t in page.locator(f"#transcript {selector} .text").all_text_contents()]


def test_a_whole_offline_interview_by_clicking_and_typing(page: Any, offline: Served) -> None:
    page.goto(offline.url + "/")
    expect(page.locator("h1")).to_have_text("Practise a product-design interview")
    shot(page, "01-choose-a-case")
    start(page, offline)
    expect(page.locator("#step-title")).to_have_text(re.compile("Step 1 of 6"))
    expect(page.locator(".turn.prompt")).to_contain_text("fintech")
    shot(page, "02-interview-start", full=False)
    for i, block in enumerate(INTERVIEW_BLOCKS):
        if page.get_attribute("body", "data-status") == "completed":
            break
        if block == "/next":
            click(page, "next")
        else:
            send(page, block)
        if i == 4:
            expect(page.locator("#step-title")).to_have_text(re.compile("Step 3 of 6"))
            shot(page, "03-interview-goals", full=False)
    expect(page.locator("#step-title")).to_have_text("Interview complete")
    expect(page.locator("#answer-form")).to_be_hidden()
    expect(page.locator("#see-report")).to_be_focused()
    expect(page.locator("#report-link")).to_have_text("Your feedback")  # not "so far" any more
    answers = turns(page, ".candidate.answer")
    assert answers[0] == INTERVIEW_BLOCKS[0] and len(answers) >= 6
    assert page.locator(".turn.closing").count() == 1
    shot(page, "04-interview-complete", full=False)
    page.reload()  # the page as the server renders a finished interview
    expect(page.locator("#report-link")).to_have_text("Your feedback")
    # Reopened, it offers the feedback as finishing it live does (round 10: focus was on BODY).
    expect(page.locator("#see-report")).to_be_focused()
    page.click("#see-report")
    expect(page.locator("h1")).to_contain_text("Interview feedback")
    expect(page.locator(".overall")).to_contain_text("Overall")
    expect(page.get_by_role("heading", name="Transcript", exact=True)).to_be_visible()
    expect(page.locator("body")).to_contain_text(INTERVIEW_BLOCKS[2])
    # The chart's step labels end before their bars ("Clarify the problem and context" ran
    # into its bar), and the navigation's links wear the app's colour, not the browser's blue.
    overlaps = page.evaluate("""() => {
        const svg = document.querySelector('svg[aria-label="Score per step"]');
        const barX = svg.querySelector('rect').getBBox().x;
        return [...svg.querySelectorAll('text')].filter(t => t.getAttribute('x') === '0')
            .map(t => [t.textContent, t.getBBox().x + t.getBBox().width, barX])
            .filter(([, end, x]) => end > x - 6);
    }""")
    assert overlaps == [], overlaps
    colours = page.eval_on_selector_all(".app-nav a",
                                        "as => as.map(a => getComputedStyle(a).color)")
    assert len(colours) >= 4 and "rgb(0, 0, 238)" not in colours, colours
    assert "rgb(44, 95, 212)" in colours  # app.css's --accent
    shot(page, "05-report")
    # As on the app's other pages, the first Tab reaches "Skip to content", which goes to
    # the report itself (round 10: focus began on BODY and the first Tab hit the navigation).
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    shot(page, "05-report-top", full=False)
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    expect(page.locator("main#main h1")).to_contain_text("Interview feedback")
    page.goto(offline.url + "/sessions")
    row = page.locator("table.sessions tbody tr").first
    expect(row).to_contain_text("completed")
    # Its score and band, as `interviewer sessions` shows them (the report was opened above).
    expect(row.locator("td").nth(4)).to_have_text(re.compile(r"^\d\.\d\d$"))
    expect(row.locator("td").nth(5)).to_have_text(re.compile(r"hire"))
    shot(page, "06-sessions")


def finish(page: Any) -> None:
    """Answer the rest of the interview open on the page."""
    for block in INTERVIEW_BLOCKS:
        if page.get_attribute("body", "data-status") == "completed":
            break
        if block == "/next":
            click(page, "next")
        else:
            send(page, block)
    expect(page.locator("body")).to_have_attribute("data-status", "completed")


PHONE = {"width": 375, "height": 740}

#: The score chart as shown: every bar's track, bar and score inside the screen, at a size
#: still read (the chart was 603 px on a 375 px screen, its scores and axis off the edge and
#: a bar at 1.67 cut where it looked full), and the bars as long as the scores say.
CHART = r"""() => {
    const shown = [...document.querySelectorAll('svg[aria-label="Score per step"]')]
        .filter(svg => svg.getBoundingClientRect().width > 0);
    if (shown.length !== 1) return {shown: shown.length};
    const svg = shown[0], box = svg.getBoundingClientRect();
    const rects = [...svg.querySelectorAll('rect')];
    const texts = [...svg.querySelectorAll('text')];
    const right = Math.max(...[...rects, ...texts].map(e => e.getBoundingClientRect().right));
    const bars = [];  // [score written beside the bar, the bar's share of its track]
    for (let i = 0; i < rects.length; i += 2) {
        const track = rects[i].getBoundingClientRect(), bar = rects[i + 1].getBoundingClientRect();
        const score = texts.find(t => /^\d\.\d\d$/.test(t.textContent) && Math.abs(
            (t.getBoundingClientRect().top + t.getBoundingClientRect().bottom) / 2
            - (track.top + track.bottom) / 2) < track.height / 2);
        if (score) bars.push([Number(score.textContent), bar.width / track.width]);
    }
    return {shown: 1, cls: svg.getAttribute('class'), left: box.left, right, bars,
            smallest: Math.min(...texts.map(t => t.getBoundingClientRect().height)),
            axis: texts.filter(t => /^[1-4]$/.test(t.textContent))
                .map(t => t.getBoundingClientRect().right)};
}"""


def check_chart(page: Any, width: int, kind: str) -> None:
    chart = page.evaluate(CHART)
    assert chart["shown"] == 1 and kind in (chart["cls"] or ""), chart
    assert chart["left"] >= 0 and chart["right"] <= width, chart
    assert len(chart["axis"]) == 4 and max(chart["axis"]) <= width, chart
    assert chart["smallest"] >= 11, chart  # 12 px text, not shrunk to fit
    assert len(chart["bars"]) >= 6, chart
    assert all(abs(4 * share - score) < 0.05 for score, share in chart["bars"]), chart


def test_no_page_is_wider_than_a_phone(page: Any, offline: Served, tmp_path: Path) -> None:
    """At 375 px the start page's step list and the sessions table fit the screen (round 11:
    the table was 640 px wide and the select 468 px, so the page scrolled sideways); on the
    sessions page each session becomes a card of labelled lines, still a table to a screen
    reader. Round 12: the report (in the app and saved) was 619 px wide, its chart cut; the
    Progress page's sessions were bare values without labels."""
    done = start(page, offline)
    finish(page)
    page.goto(offline.url + f"/s/{done}/report")
    check_chart(page, 1280, "wide")  # the desktop's chart, as it was
    sid = start(page, offline)
    page.set_viewport_size(PHONE)
    for path in ("/", "/sessions", f"/s/{sid}", f"/s/{sid}/report", f"/s/{done}",
                 f"/s/{done}/report", "/progress"):
        page.goto(offline.url + path)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 375, (path, width)
    page.goto(offline.url + f"/s/{done}/report")
    check_chart(page, 375, "narrow")
    shot(page, "05-report-phone")
    # The saved report, opened from a file: the same.
    saved = tmp_path / "report.html"
    saved.write_text(page.request.get(offline.url + f"/s/{done}/report.html").text())
    page.goto(saved.as_uri())
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    check_chart(page, 375, "narrow")
    shot(page, "05-report-saved-phone", full=False)
    page.set_viewport_size({"width": 1280, "height": 860})
    check_chart(page, 1280, "wide")
    page.set_viewport_size(PHONE)

    page.goto(offline.url + "/sessions")
    row = page.locator("table.sessions tbody tr").first
    expect(row.get_by_role("cell").nth(1)).to_be_visible()
    assert page.evaluate("""() => getComputedStyle(document.querySelector(
        'table.sessions td[data-label="Mode"]'), '::before').content""") == '"Mode: "'
    assert page.get_by_role("table").count() == 1
    shot(page, "06-sessions-phone")

    # Progress: each session a card whose lines say what they are; the levels stay a table
    # (scrolled in its own box when there are many sessions).
    page.goto(offline.url + "/progress")
    cells = page.locator("table.sessions:not(.levels) tbody tr").first.get_by_role("cell")
    expect(cells).to_have_count(6)
    labels = [page.evaluate("c => getComputedStyle(c, '::before').content", c.element_handle())
              for c in cells.all()]
    assert labels == ['"Session: "', "none", '"Kind: "', '"Overall: "', '"Band: "',
                      '"Scored by: "'], labels
    assert page.evaluate("() => getComputedStyle(document.querySelector("
                         "'table.levels')).display") == "table"
    assert page.get_by_role("table").count() == 2
    shot(page, "12-progress-phone")


def test_the_first_screen_on_a_phone_shows_the_step_and_the_case(page: Any,
                                                                   offline: Served) -> None:
    """Round 12: at 375 x 740 the case card and the step list pushed the step's title and the
    case prompt off the first screen. The sidebar is a compact bar there; the step list is
    left to screen readers; the page opens at the interview, the answer box focused."""
    page.set_viewport_size(PHONE)
    start(page, offline)
    title = page.locator("#step-title").bounding_box()
    prompt = page.locator(".turn.prompt").bounding_box()
    assert title["y"] >= 0 and title["y"] + title["height"] <= 740, title
    assert 0 <= prompt["y"] < 740 - 100, prompt
    sidebar = page.locator(".sidebar").bounding_box()
    assert sidebar["height"] <= 160, sidebar
    expect(page.locator(".sidebar .case-name")).to_be_in_viewport()
    expect(page.locator("#timer")).to_be_in_viewport()
    steps = page.get_by_role("list").filter(has_text="Diagnose root causes")
    expect(steps.get_by_role("listitem")).to_have_count(6)  # still read
    assert page.locator("#steps").bounding_box()["width"] <= 1
    shot(page, "02-interview-start-phone", full=False)
    send(page, "Is it inference? What is the QPS?")  # from now on the newest words show
    expect(page.locator("#answer-form")).to_be_in_viewport()
    page.reload()
    expect(page.locator("#answer")).to_be_focused()
    expect(page.locator("#answer-form")).to_be_in_viewport()
    page.set_viewport_size({"width": 1280, "height": 860})  # the desktop's sidebar, as it was
    expect(page.locator("#steps")).to_be_visible()
    assert page.locator(".sidebar").bounding_box()["width"] > 200


def test_reloading_mid_interview_resumes_exactly_with_the_draft(page: Any,
                                                                 offline: Served) -> None:
    sid = start(page, offline)
    send(page, "Is it inference? What is the QPS?")
    send(page, "I'll assume real-time inference with a 500 ms p99 target.")
    before = turns(page)
    title = page.text_content("#step-title")
    page.fill("#answer", "A draft I have not sent yet,\n\nwith a blank line inside.")
    page.reload()
    assert turns(page) == before and page.text_content("#step-title") == title
    expect(page.locator("#answer")).to_have_value(
        "A draft I have not sent yet,\n\nwith a blank line inside.")
    assert seq(page) == 2
    # Leaving and coming back from the session list lands on the same place.
    page.goto(offline.url + "/sessions")
    page.click(f'a[href="/s/{sid}"] >> nth=0')
    assert turns(page) == before
    page.press("#answer", "Control+Enter")  # the draft, with its blank line, is the answer
    expect(page.locator("body")).to_have_attribute("data-seq", "3")
    assert turns(page, ".candidate.answer")[-1] == \
        "A draft I have not sent yet,\n\nwith a blank line inside."


def test_hint_next_skip_and_repeat_in_coach_mode(page: Any, offline: Served) -> None:
    start(page, offline, mode="coach")
    send(page, "Is it inference? What's the QPS?")
    click(page, "next")
    expect(page.locator("#step-title")).to_have_text(re.compile("Step 2 of 6"))
    expect(page.locator(".turn.coach")).to_have_count(1)  # coach feedback on clarify
    click(page, "hint")
    expect(page.locator(".turn.hint .text").last).to_contain_text("Hint")
    question = page.locator(".turn.opener .text").last.text_content()
    page.click('button[data-command="repeat"]')
    expect(page.locator(".turn.repeat .text")).to_have_text(question)
    assert seq(page) == 3  # repeat is the page's own: nothing was sent
    shot(page, "07-coach-hint", full=False)
    click(page, "skip")  # the confirmation dialog is accepted
    expect(page.locator("#step-title")).to_have_text(re.compile("Step 3 of 6"))
    expect(page.locator('#steps li[data-step="diagnose"]')).to_have_class("done skipped")
    expect(page.locator('#steps li[data-step="diagnose"]')).to_contain_text("(no answer)")
    expect(page.locator('#steps li[data-step="clarify"]')).to_have_class("done")  # answered
    expect(page.locator('#steps li[data-step="goals"]')).to_have_attribute(
        "aria-current", "step")
    # A command shows as what it did, as in the report; typed in the box, it leaves the box.
    send(page, "/NEXT")
    expect(page.locator("#answer")).to_have_value("")
    done = ["(moved on to the next step)", "(asked for a hint)", "(skipped this step)",
            "(moved on to the next step)"]
    assert turns(page, ".candidate.command") == done
    page.reload()
    assert turns(page, ".candidate.command") == done
    expect(page.locator("#answer")).to_have_value("")  # no draft of the command came back


def shown_dividers(page: Any) -> list[str]:
    """The step dividers a sighted reader sees (a visually hidden one is 1 px wide)."""
    return list(page.evaluate("""() => [...document.querySelectorAll('#transcript .step-divider')]
        .filter(li => li.getBoundingClientRect().width > 1).map(li => li.textContent.trim())"""))


def test_the_step_is_shown_once_and_kept_for_screen_readers(page: Any, offline: Served) -> None:
    """Round 10: the heading "Step 1 of 6 · Clarify…" had the transcript's divider, the same
    words, right below it. The first divider is not shown while its step is open (the heading
    says it) but stays in the transcript's text for a screen reader."""
    start(page, offline)
    expect(page.locator("#step-title")).to_have_text(re.compile("^Step 1 of 6"))
    assert shown_dividers(page) == []
    first = page.locator("#transcript .step-divider").first
    expect(first).to_have_text(re.compile("^Step 1 of 6"))
    assert first.get_attribute("aria-hidden") is None
    shot(page, "02b-step-shown-once", full=False)
    send(page, "Is it inference? What is the QPS?")
    assert shown_dividers(page) == []  # re-rendered after a turn: still once
    click(page, "next")
    expect(page.locator("#step-title")).to_have_text(re.compile("^Step 2 of 6"))
    expect(page.locator("#transcript .step-divider")).to_have_count(2)
    shown = shown_dividers(page)
    assert len(shown) == 2 and shown[0].startswith("Step 1 of 6"), shown  # now it says more
    page.reload()
    assert shown_dividers(page) == shown
    page.goto(offline.url + "/")
    page.click("button.primary.big")
    page.wait_for_url(re.compile(r"/s/[a-z0-9]+$"))
    assert shown_dividers(page) == []  # as the server renders it, before any script runs again


def test_a_cancelled_skip_says_so(page: Any, offline: Served) -> None:
    """Round 10: Escape on Skip's confirmation left the step unskipped without a word."""
    start(page, offline, mode="coach")
    page.remove_listener("dialog", page.accept_dialogs)
    asked: list[str] = []

    def dismiss(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()  # what Escape or Cancel does

    page.on("dialog", dismiss)
    page.locator('button[data-command="skip"]').focus()
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_have_text("Not skipped.")
    expect(page.locator("#status")).to_have_attribute("role", "status")
    assert asked and "Skip this step" in asked[0]
    assert seq(page) == 0 and "(skipped this step)" not in turns(page)
    expect(page.locator("#step-title")).to_have_text(re.compile("^Step 1 of 6"))
    shot(page, "07b-skip-cancelled", full=False)
    send(page, "Is it inference? What is the QPS?")  # the next turn clears the line
    expect(page.locator("#status")).to_be_hidden()


def test_a_typed_help_is_answered_and_leaves_the_box(page: Any, offline: Served) -> None:
    """Trial 14: a typed "/help" stayed in the box under the page's answer to it."""
    start(page, offline, mode="exam")
    page.fill("#answer", "/help")
    page.press("#answer", "Control+Enter")
    expect(page.locator("#status")).to_contain_text("Buttons: Send")
    expect(page.locator("#status")).to_have_attribute("role", "status")
    expect(page.locator("#answer")).to_have_value("")
    assert seq(page) == 0
    page.fill("#answer", "/frobnicate")  # a typo stays, to be mended
    page.press("#answer", "Control+Enter")
    expect(page.locator("#status")).to_contain_text("is not a command")
    expect(page.locator("#status")).to_have_attribute("role", "alert")
    expect(page.locator("#answer")).to_have_value("/frobnicate")


def test_next_after_a_step_ended_by_itself_is_asked_about_on_the_page(page: Any,
                                                                      offline: Served) -> None:
    """Stop 35's review: the graph's question to a /next in a step the interview moved to by
    itself streamed into the transcript and vanished when the page redrew it."""
    start(page, offline, mode="exam")
    send(page, "I'll assume real-time inference at 500 ms p99 for a payments customer.")
    expect(page.locator("#step-title")).to_have_text(re.compile("^Step 2 of 6"))
    page.locator('button[data-command="next"]').focus()
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_contain_text("We're already on the next step")
    expect(page.locator("#status")).to_have_attribute("role", "status")
    expect(page.locator("#step-title")).to_have_text(re.compile("^Step 2 of 6"))
    shot(page, "07c-next-asked", full=False)
    click(page, "next")  # the second goes through
    expect(page.locator("#step-title")).to_have_text(re.compile("^Step 3 of 6"))
    expect(page.locator("#status")).to_be_hidden()


def test_hint_is_offered_in_coach_mode_only(page: Any, offline: Served) -> None:
    start(page, offline, mode="exam")
    expect(page.locator('button[data-command="hint"]')).to_be_disabled()
    expect(page.locator('button[data-command="hint"]')).to_contain_text("coach mode")


def test_an_answer_with_markup_shows_as_text_and_runs_nothing(page: Any, offline: Served) -> None:
    start(page, offline, mode="coach")  # coach: feedback as it goes (an exam's comes at the end)
    send(page, XSS)
    assert turns(page, ".candidate.answer")[-1] == XSS
    assert page.evaluate("() => window.__xss") is None
    page.reload()
    assert turns(page, ".candidate.answer")[-1] == XSS
    page.goto(page.url + "/report")
    expect(page.locator("body")).to_contain_text("<script>window.__xss=1")
    assert page.evaluate("() => window.__xss") is None
    assert page.locator("img[src=x]").count() == 0


def test_keyboard_only(page: Any, offline: Served) -> None:
    page.goto(offline.url + "/")
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    # A radio group is moved in with the arrow keys: its label says so (round 10).
    expect(page.get_by_role("group", name=re.compile("Choose a case.*arrow keys"))).to_be_visible()
    expect(page.locator(".cases .legend-hint")).to_be_visible()
    page.keyboard.press("Enter")  # skip to content
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.name") == "case_id":
            break
    page.keyboard.press("ArrowDown")  # the second case
    second = page.locator('input[name="case_id"]').nth(1).get_attribute("value")
    assert page.evaluate("() => document.activeElement.value") == second
    outline = page.evaluate(
        "() => getComputedStyle(document.activeElement.closest('label')).outlineStyle")
    assert outline != "none", "the focused case shows where focus is"
    page.keyboard.press("Tab")  # the mode
    page.keyboard.press("ArrowDown")  # coach
    page.keyboard.press("Tab")
    expect(page.locator("#drill")).to_be_focused()  # whole interview or one step
    page.keyboard.press("Tab")
    expect(page.locator("button.primary.big")).to_be_focused()
    shot(page, "08-keyboard-focus", full=False)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/s/[a-z0-9]+$"))
    expect(page.locator("#answer")).to_be_focused()  # ready to type at once
    expect(page.locator(".sidebar")).to_contain_text("coach mode")
    page.keyboard.type("Is this inference? What is the QPS?")
    page.keyboard.press("Control+Enter")
    expect(page.locator("body")).to_have_attribute("data-seq", "1")
    expect(page.locator("#answer")).to_be_focused()  # focus comes back to the box
    order = []
    for _ in range(4):
        page.keyboard.press("Tab")
        order.append(page.evaluate("() => document.activeElement.textContent.trim()"))
    assert order[:4] == ["Send", "Hint", "Repeat", "Next"], order
    page.keyboard.press("Enter")  # Next
    expect(page.locator("#step-title")).to_have_text(re.compile("Step 2 of 6"))


def test_voice_input_is_hidden_offline_and_says_why(page: Any, offline: Served) -> None:
    start(page, offline)
    expect(page.locator("#mic")).to_be_hidden()
    expect(page.locator("#voice-note")).to_contain_text("Voice input is off: this interview "
                                                       "runs offline")
    # Headless Chromium has no voices: reading aloud is not offered, and the page says so.
    expect(page.locator("#speak-option")).to_be_hidden()
    expect(page.locator("#voice-note")).to_contain_text("no voices")


def test_a_recorded_answer_is_transcribed_by_the_endpoint_and_stays_editable(
        page: Any, model: Served, endpoint: Any) -> None:
    """Chromium's speech recognition has no service here: the page falls back to recording
    the (fake) microphone and sends the recording to the server, which asks the endpoint."""
    from evals.fake_audio import TRANSCRIPT

    page.context.grant_permissions(["microphone"], origin=model.url)
    start(page, model)
    expect(page.locator("#mic")).to_be_visible()
    page.click("#mic")
    expect(page.locator("#mic")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#status")).to_contain_text("Recording")
    time.sleep(1.5)
    shot(page, "09-voice-recording", full=False)
    page.click("#mic")
    expect(page.locator("#answer")).to_have_value(TRANSCRIPT, timeout=30_000)
    expect(page.locator("#answer")).to_be_focused()
    recorded = [r["body"] for r in endpoint.requests
                if isinstance(r["body"], dict) and r["body"].get("route") == "transcriptions"]
    assert recorded[-1]["container"] == "webm" and recorded[-1]["bytes"] > 1000
    assert recorded[-1]["model"] == "whisper-1"
    page.press("#answer", "End")
    page.keyboard.type(" And what QPS do they see at peak?")
    shot(page, "10-voice-transcribed", full=False)
    page.press("#answer", "Control+Enter")
    expect(page.locator("body")).to_have_attribute("data-seq", "1")
    assert turns(page, ".candidate.answer")[-1] == TRANSCRIPT + \
        " And what QPS do they see at peak?"
    sid = page.url.rsplit("/", 1)[1]
    calls = model.web.engine.store.calls(sid)
    assert "transcription" in {c["purpose"] for c in calls}


FAKE_BROWSER_VOICE = """
window.__spoken = [];
const voice = {name: "Test voice", lang: "en-US", default: true, localService: true};
Object.defineProperty(window, "speechSynthesis", {value: {
  getVoices: () => [voice], speak: (u) => window.__spoken.push(u.text), cancel: () => {},
  addEventListener: () => {}}});
window.SpeechSynthesisUtterance = function (text) { this.text = text; };
class Recognition {
  start() { setTimeout(() => {
    this.onresult({results: [[{transcript: "What is their p99 target"}]]});
    this.onend(); }, 50); }
  stop() {}
}
window.SpeechRecognition = Recognition;
"""


def test_the_browsers_own_voices_and_recognition_are_used_where_it_has_them(
        page: Any, model: Served) -> None:
    """A browser with voices and a working recogniser (stood in for by a script: headless
    Chromium has neither) reads replies aloud and types what is said into the box."""
    page.add_init_script(FAKE_BROWSER_VOICE)
    start(page, model)
    expect(page.locator("#speak-option")).to_be_visible()
    page.check("#speak")
    page.click("#mic")
    expect(page.locator("#answer")).to_have_value("What is their p99 target")
    page.press("#answer", "Control+Enter")
    expect(page.locator("body")).to_have_attribute("data-seq", "1")
    reply = page.locator(".turn.interviewer .text").last.text_content()
    spoken = page.evaluate("() => window.__spoken")
    assert spoken and spoken[-1] == reply


def test_the_step_timer_counts_survives_a_reload_and_reaches_the_report(
        page: Any, offline: Served) -> None:
    from agent.cases import get_case
    from agent.practice.timebox import suggested_minutes

    sid = start(page, offline, mode="coach")  # the report mid-interview: coach mode
    budget = suggested_minutes(get_case(CASE), "clarify")
    expect(page.locator("#timer")).to_be_visible()
    expect(page.locator("#timer-budget")).to_have_text(f" of {budget}:00 suggested")
    expect(page.locator("#timer-spent")).to_have_text("0:02", timeout=10_000)
    page.reload()  # the open question's time so far is kept
    expect(page.locator("#timer-spent")).to_have_text(re.compile(r"0:0[2-9]"))
    time.sleep(1)
    shot(page, "11-timer", full=False)
    send(page, "Is it inference? What QPS?")
    recorded = offline.web.engine.store.times(sid)["clarify"]
    assert 2 <= recorded <= 30, recorded
    # The clock goes on from what was recorded for the step.
    expect(page.locator("#timer-spent")).to_have_text(re.compile(r"0:0[2-9]|0:[1-5]\d"))
    click(page, "next")
    expect(page.locator("#timer-spent")).to_have_text(re.compile(r"0:0[01]"))
    # Ten hours on the open question (as the page keeps it across reloads): over the budget,
    # said in words as well as colour.
    page.evaluate(f"() => localStorage.setItem('interviewer:open:{sid}:' + "
                  "document.body.dataset.seq, '36000')")
    page.reload()
    expect(page.locator("#timer-spent")).to_have_text(re.compile(r"^10:00:0\d$|^600:0\d$"))
    expect(page.locator("#timer-budget")).to_contain_text("suggested · over time")
    expect(page.locator("#timer")).to_have_class(re.compile(r"\bover\b"))
    page.goto(page.url + "/report")
    expect(page.get_by_role("heading", name="Time", exact=True)).to_be_visible()
    row = page.locator("tr", has_text="Clarify the problem and context")
    expect(row).to_contain_text(f"{budget}:00")
    assert re.search(r"0:0[2-9]|0:[1-5]\d", row.text_content() or "")


def test_progress_page_and_a_drill_from_it(page: Any, browser: Any,
                                            tmp_path_factory: pytest.TempPathFactory) -> None:
    app = _served(tmp_path_factory.mktemp("web-progress"))
    try:
        page.goto(app.url + "/progress")
        expect(page.locator("main")).to_contain_text("No completed sessions")
        start(page, app)
        finish(page)
        page.click("nav >> text=Progress")
        expect(page.locator("h2", has_text="What to practise next")).to_be_visible()
        expect(page.locator("table.levels")).to_contain_text("Workload type")
        shot(page, "12-progress")
        page.click("text=Start this case")
        page.wait_for_url(re.compile(r"/s/[a-z0-9]+$"))
        expect(page.locator(".turn.prompt")).to_be_visible()
        # A one-step drill chosen on the start page: that step only, then its feedback.
        page.goto(app.url + "/")
        page.select_option("#drill", "goals")
        page.click("button.primary.big")
        page.wait_for_url(re.compile(r"/s/[a-z0-9]+$"))
        expect(page.locator("#step-title")).to_have_text("Drill · Set product and infra goals")
        assert page.locator("#steps li").all_text_contents() == ["Set product and infra goals"]
        expect(page.locator(".sidebar")).to_contain_text("one-step drill")
        send(page, "Goal: p99 under 500 ms at peak, error rate under 0.1%, cost per request flat.")
        shot(page, "13-drill")
        if page.get_attribute("body", "data-status") != "completed":
            click(page, "next")
        # It ends as a drill, not as an interview (round 12: "That's the end of the interview.")
        expect(page.locator("#step-title")).to_have_text("Drill complete")
        closing = page.locator(".turn.closing .text")
        expect(closing).to_have_text("That's all for this step. Thanks for working through "
                                     "it with me.")
        expect(page.locator("#finished")).to_contain_text("The drill is complete.")
        shot(page, "13-drill-complete", full=False)
        page.reload()
        expect(page.locator(".step-divider").first).to_have_text(
            "Drill · Set product and infra goals")
    finally:
        app.stop()


def test_the_login_and_error_pages_by_keyboard(page: Any,
                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    token = "correct-horse-battery-staple-42"
    tmp = tmp_path_factory.mktemp("web-token")
    app = Served(token=token, host="0.0.0.0", db=tmp / "interviewer.db",
                 secret=secrets.token_urlsafe(16)).start()
    try:
        page.goto(app.url + "/sessions")
        page.wait_for_url(re.compile(r"/login\?next=%2Fsessions$"))
        expect(page.locator("#token")).to_be_focused()  # type at once
        page.keyboard.type("not-the-token-at-all")
        page.keyboard.press("Enter")
        expect(page.locator("#token-error")).to_contain_text("not the token")
        shot(page, "14-login-refused", full=False)
        page.locator("#token").focus()
        page.keyboard.type(token)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/sessions$"))
        expect(page.locator("h1")).to_be_visible()
        page.goto(app.url + "/s/0123abcd")  # nobody's session: a page, not a stack trace
        expect(page.locator("h1")).to_have_text("Not found")
        expect(page.locator("main")).to_contain_text("belong to the browser that started them")
        shot(page, "15-not-found", full=False)
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.tagName") == "A"
    finally:
        app.stop()


def test_a_long_unbroken_word_wraps_in_the_report(page: Any, offline: Served) -> None:
    """A new user's trial (stop 38): a long link in an answer wrapped on the interview page but
    its quote ran out of its box in the report, which became 1,348 px wide at 1,280 and 1,172
    at 400."""
    # (a link's words are no claim, so the long word is a config name in a sentence that is)
    name = "burst_aware_autoscaling_policy_payday_peak_evening_" + "a" * 60
    plan = ("Now (weeks 1-3): scheduled pre-warming of reserved replicas before each known peak."
            f"\n\nNext (quarter): burst-aware autoscaling on queue depth, as {name}."
            "\n\nLater: a dedicated low-latency tier.")
    sid = start(page, offline)
    send(page, "I'll assume real-time inference for a payments customer.")  # ends clarify
    while page.get_attribute("body", "data-status") != "completed":
        send(page, plan)
        before = seq(page)
        page.click('button[data-command="next"]')  # the first may be asked about on the page
        if page.locator("#status").filter(has_text="already on the next step").count():
            page.click('button[data-command="next"]')
        expect(page.locator("body")).not_to_have_attribute("data-seq", str(before))
    for size in (PHONE, {"width": 1280, "height": 860}):
        page.set_viewport_size(size)
        page.goto(offline.url + f"/s/{sid}/report")
        expect(page.locator("blockquote", has_text=name[:40]).first).to_be_visible()
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= size["width"], (size, width)
