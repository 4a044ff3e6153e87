"""The web app's API over real HTTP: uvicorn on loopback, httpx as the browser, SSE parsed."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agent.commands import MAX_ANSWER_CHARS
from agent.config import Settings
from tests.helpers import CASE, INTERVIEW_BLOCKS, sessions
from tests.webapp import Client, Served, TurnRefused, served, spoken

pytestmark = pytest.mark.slow

XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2"> and p99 </candidate>'


@pytest.fixture
def app() -> Iterator[Served]:
    with served() as s:
        yield s


@pytest.fixture
def client(app: Served) -> Iterator[Client]:
    c = app.client()
    yield c
    c.close()


def test_a_whole_offline_interview_streams_every_reply_and_ends_with_a_report(
        app: Served, client: Client, home: Path) -> None:
    sid = client.start(CASE)
    view = client.view(sid)
    assert view["step"]["id"] == "clarify" and view["waiting"] and view["offline"]
    assert view["turns"][0]["kind"] == "prompt" and view["seq"] == 0
    for block in INTERVIEW_BLOCKS:
        if client.view(sid)["status"] == "completed":
            break
        events = client.say(sid, block)
        names = [n for n, _ in events]
        assert names[0] == "accepted" and names[-2:] == ["state", "done"], names
        said = spoken(events)
        assert said, f"no reply streamed to {block!r}"
        state = events[-2][1]
        interviewer = [t for t in state["turns"] if t["role"] == "interviewer"]
        # What was streamed is what was recorded, utterance by utterance.
        assert [t["text"] for t in interviewer[-len(said):]] == [text for _, text in said]
    final = client.view(sid)
    assert final["status"] == "completed", final["step"]
    answers = [t["text"] for t in final["turns"] if t["kind"] == "answer"]
    assert answers[0] == INTERVIEW_BLOCKS[0]
    report = client.http.get(f"/api/sessions/{sid}/report").json()
    assert report["status"] == "completed" and report["overall"] is not None
    assert [s["step"] for s in report["steps"]][:2] == ["clarify", "diagnose"]
    # The terminal sees the same session in the same database.
    row = next(r for r in sessions(home) if r["id"] == sid)
    assert row["status"] == "completed" and row["answered"] == len(answers)
    # And refuses another answer.
    with pytest.raises(TurnRefused) as refused:
        client.say(sid, "one more thing")
    assert refused.value.status == 409 and refused.value.code == "finished"


def test_answers_are_checked_like_the_terminal_checks_them(client: Client) -> None:
    sid = client.start()
    cases = {
        "   \n\u200b ": ("empty", "Please type an answer"),
        "x" * (MAX_ANSWER_CHARS + 1): ("too_long", f"{MAX_ANSWER_CHARS + 1:,} characters"),
        "/frobnicate": ("unknown_command", "/frobnicate is not a command"),
        "/repeat": ("unknown_command", "the Repeat button shows the question again"),
    }
    for text, (code, words) in cases.items():
        with pytest.raises(TurnRefused) as refused:
            client.say(sid, text)
        assert refused.value.status == 422 and refused.value.code == code, refused.value.body
        assert words in refused.value.body["error"]["message"]
    with pytest.raises(TurnRefused) as refused:
        client.turn(sid, command="quit")
    assert refused.value.code == "unknown_command" and "/hint, /next" not in \
        refused.value.body["error"]["message"]
    both = client.post(f"/api/sessions/{sid}/turn", json={"answer": "a", "command": "next"})
    assert both.status_code == 422 and "either 'answer' or 'command'" in both.text
    with pytest.raises(TurnRefused) as refused:  # the graph's own rule, applied before sending
        client.turn(sid, command="hint")
    assert refused.value.code == "refused" and "only available in coach mode" in \
        refused.value.body["error"]["message"]
    assert client.view(sid)["seq"] == 0  # nothing refused was recorded
    # Escape sequences are cleaned before the graph sees the answer; a typed /next is /next.
    events = client.say(sid, "Is it \x1b[31minference\x1b[0m? What QPS?")
    assert events[0] == ("accepted", {"seq": 0, "answer": "Is it inference? What QPS?"})
    events = client.say(sid, "/next")
    assert events[0][1]["command"] == "next"
    view = client.view(sid)
    assert view["step"]["id"] == "diagnose"
    # The recorded text stays the command; what a page shows is what it did.
    assert [(t["text"], t["shown"]) for t in view["turns"] if t["role"] == "candidate"] == [
        ("Is it inference? What QPS?", "Is it inference? What QPS?"),
        ("/next", "(moved on to the next step)")]


def test_a_typed_command_the_page_does_not_send_names_the_real_buttons_of_the_mode(
        client: Client) -> None:
    def refusal(sid: str, text: str) -> str:
        with pytest.raises(TurnRefused) as refused:
            client.say(sid, text)
        assert refused.value.status == 422, refused.value.body
        message: str = refused.value.body["error"]["message"]
        return message

    exam, coach = client.start(mode="exam"), client.start(mode="coach")
    for text in ("/quit", "/help", "/QUIT", "/frobnicate", " "):
        said = refusal(exam, text)
        assert "Buttons: Send, Repeat, Next, Skip." in said, said
        assert "Commands you can type: /next, /skip." in said, said
        assert "hint" not in said.lower() and "is a button" not in said
    assert "saved as it is sent" in refusal(exam, "/Quit")
    said = refusal(coach, "/help")
    assert "Buttons: Send, Hint, Repeat, Next, Skip." in said
    assert "Commands you can type: /next, /skip, /hint." in said
    # Any case is the command: /NEXT moves on, and so does {"command": "Skip"}.
    assert client.say(exam, "/NEXT")[0][1]["command"] == "next"
    assert client.view(exam)["step"]["id"] == "diagnose"
    assert client.turn(exam, command="Skip")[0][1]["command"] == "skip"
    assert client.view(exam)["step"]["id"] == "goals"


def test_a_pasted_blank_line_stays_inside_the_answer(client: Client) -> None:
    sid = client.start()
    client.say(sid, "First paragraph about QPS?\n\nSecond paragraph about latency?")
    answers = [t["text"] for t in client.view(sid)["turns"] if t["kind"] == "answer"]
    assert answers == ["First paragraph about QPS?\n\nSecond paragraph about latency?"]


def test_a_double_submit_records_the_answer_once(client: Client) -> None:
    sid = client.start()
    results: list[object] = []

    def send() -> None:
        try:
            results.append(client.turn(sid, seq=0, answer="What is the QPS at peak?"))
        except TurnRefused as e:
            results.append(e)

    threads = [threading.Thread(target=send) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    refused = [r for r in results if isinstance(r, TurnRefused)]
    assert len(refused) == 2 and {r.code for r in refused} <= {"stale", "busy"}
    answers = [t for t in client.view(sid)["turns"] if t["kind"] == "answer"]
    assert len(answers) == 1


def test_a_session_belongs_to_the_browser_that_started_it(app: Served, client: Client) -> None:
    sid = client.start()
    other = app.client()
    try:
        for path in (f"/api/sessions/{sid}", f"/s/{sid}", f"/s/{sid}/report",
                     f"/api/sessions/{sid}/report", f"/s/{sid}/report.json"):
            r = other.http.get(path)
            assert r.status_code == 404, path
            assert sid in r.text and "Traceback" not in r.text
        with pytest.raises(TurnRefused) as refused:
            other.turn(sid, seq=0, answer="hijack")
        assert refused.value.status == 404
        assert other.http.get("/api/sessions").json() == []
        assert [s["id"] for s in client.http.get("/api/sessions").json()] == [sid]
        # A forged cookie is no owner at all.
        forged = httpx.Client(base_url=app.url, cookies={"interviewer": "eyJvd25lciI6IngifQ=="})
        assert forged.get(f"/api/sessions/{sid}").status_code == 404
        forged.close()
    finally:
        other.close()
    assert client.view(sid)["seq"] == 0


def test_every_post_needs_the_csrf_token_and_the_same_origin(app: Served,
                                                             client: Client) -> None:
    sid = client.start()
    no_token = client.http.post(f"/api/sessions/{sid}/turn", json={"answer": "hi", "seq": 0})
    assert no_token.status_code == 403 and no_token.json()["error"]["code"] == "csrf"
    wrong = client.post(f"/api/sessions/{sid}/turn", json={"answer": "hi", "seq": 0},
                        headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    cross = client.post(f"/api/sessions/{sid}/turn", json={"answer": "hi", "seq": 0},
                        headers={"Origin": "http://evil.example"})
    assert cross.status_code == 403 and "another site" in cross.json()["error"]["message"]
    form = client.http.post("/sessions", data={"case_id": CASE, "mode": "exam"})
    assert form.status_code == 403
    ok = client.http.post("/sessions", data={"case_id": CASE, "mode": "exam",
                                             "csrf": client.csrf})
    assert ok.status_code == 303 and ok.headers["location"].startswith("/s/")
    assert client.view(sid)["seq"] == 0


def test_candidate_text_is_escaped_on_every_page(client: Client) -> None:
    sid = client.start(mode="coach")  # coach: the report mid-interview (an exam's waits)
    client.say(sid, XSS)
    for path in (f"/s/{sid}", f"/s/{sid}/report", f"/s/{sid}/report.html", "/sessions"):
        page = client.http.get(path)
        assert page.status_code == 200, path
        assert "<script>window.__xss" not in page.text and 'onerror="window' not in page.text
        assert "&lt;script&gt;window.__xss" in page.text or path == "/sessions", path
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src")[0]
    # In the page's JSON data too: "<" never appears raw inside the <script> data block.
    page = client.http.get(f"/s/{sid}").text
    data = page.split('id="view-data">', 1)[1].split("</script>", 1)[0]
    said = [t["text"] for t in json.loads(data)["turns"] if t["role"] == "candidate"]
    assert "<" not in data and said == [XSS]


def test_bad_requests_get_json_errors_never_a_traceback(app: Served, client: Client) -> None:
    checks = [
        client.http.get("/api/nowhere"),
        client.post("/api/sessions", content=b"{not json", headers={
            "Content-Type": "application/json"}),
        client.post("/api/sessions", json={"case_id": "no-such-case"}),
        client.post("/api/sessions", json={"case_id": CASE, "mode": "panel"}),
        client.post("/api/sessions/ZZ!!/turn", json={"answer": "x"}),
        client.post("/api/sessions/abcd1234/turn", content=b"x" * 300_000,
                    headers={"Content-Type": "application/json"}),
    ]
    statuses = [r.status_code for r in checks]
    assert statuses == [404, 422, 422, 422, 404, 413], statuses
    for r in checks:
        body = r.json()
        assert set(body) == {"error"} and body["error"]["message"], body
        assert "Traceback" not in r.text and 'File "' not in r.text
    assert "fintech-p99-spikes" in checks[2].json()["error"]["message"]  # lists the cases
    assert "mode" in checks[3].json()["error"]["message"]
    said = checks[1].json()["error"]["message"]
    assert said.startswith("the request body is not valid JSON") and "0:" not in said, said
    # Every bad field of a request is named at once, not the first only.
    both = client.post("/api/sessions", json={"case_id": "nope", "mode": "quiz"})
    said = both.json()["error"]["message"]
    assert both.status_code == 422 and "case_id: unknown case 'nope'" in said, said
    assert "mode: 'quiz' is not a mode" in said
    missing = client.post("/api/sessions", json={"mode": "exam"})
    assert missing.json()["error"]["message"] == "case_id: missing (required)", missing.text
    page = client.http.get("/s/abcd1234")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Not found" in page.text


def test_a_journaled_answer_is_replayed_by_recover(app: Served, client: Client) -> None:
    """A worker killed after journaling an answer: the page sees it pending and recovers it."""
    sid = client.start()
    app.web.engine.store.journal(sid, 0, "What is the QPS at peak?")
    view = client.view(sid)
    assert view["pending"] == "What is the QPS at peak?" and view["needs_recovery"]
    with pytest.raises(TurnRefused) as refused:
        client.say(sid, "a different answer")
    assert refused.value.code == "pending"
    events = client.turn(sid, path="recover")
    assert [n for n, _ in events][-2:] == ["state", "done"]
    assert spoken(events)[0][0] == "fact"
    view = client.view(sid)
    assert [t["text"] for t in view["turns"] if t["kind"] == "answer"] == [
        "What is the QPS at peak?"]
    assert view["pending"] is None and not view["needs_recovery"]


def test_an_unreachable_endpoint_keeps_the_answer(home: Path) -> None:
    dead = Settings(base_url="http://127.0.0.1:9/v1", model="m", max_retries=0, timeout_s=2)
    with served(dead) as app:
        c = app.client()
        try:
            sid = c.start()
            events = c.say(sid, "What is the QPS?")
            name, data = events[-1]
            assert name == "error" and data["code"] == "model_unavailable"
            assert "Your answer is saved" in data["message"] and "127.0.0.1:9" in data["message"]
            assert c.view(sid)["pending"] == "What is the QPS?"
        finally:
            c.close()


def test_a_model_reply_reaches_the_page_as_spoken_events(fake_endpoint: object) -> None:
    """The model's words come through the SSE stream as the engine speaks them (since issue 15
    the engine shows a reply only as far as its guards have checked it: a clarify answer
    sentence by sentence once grounded, a follow-up whole)."""
    settings = Settings(base_url=fake_endpoint.url, model="fake-model")  # type: ignore[attr-defined]
    with served(settings) as app:
        c = app.client()
        try:
            sid = c.start()
            events = c.say(sid, "Is this training or inference? What QPS and latency target?")
            names = [n for n, _ in events]
            assert names[0] == "accepted" and names[-2:] == ["state", "done"], names
            assert ("begin", "fact") in [(n, d.get("kind")) for n, d in events]
            said = "".join(d["text"] for n, d in events if n == "say").strip()
            assert "requests per second" in said  # the fake endpoint's fact, not an authored line
            view = c.view(sid)
            assert view["turns"][-1]["text"] == said and view["engine"] == "llm:fake-model"
        finally:
            c.close()


def test_the_warm_up_touches_neither_the_database_nor_a_model(home: Path) -> None:
    from agent.web.warm import warm_up

    warm_up()
    assert not (home / "interviewer.db").exists()


def test_a_stopping_server_stops_its_warm_up_and_waits_for_it(home: Path) -> None:
    from agent.web.warm import Stopped, WarmUp, warm_up

    asked = threading.Event()
    asked.set()
    with pytest.raises(Stopped):  # checked before each step: nothing runs once asked to stop
        warm_up(asked)
    warm = WarmUp()
    assert not warm.thread.daemon  # never killed mid-step at interpreter exit
    warm.stop()
    assert not warm.thread.is_alive()


def test_time_on_a_step_is_the_pages_count_bounded_by_the_servers_clock(
        app: Served, client: Client) -> None:
    sid = client.start()
    view = client.view(sid)
    assert view["timer"]["budget"]["clarify"] > 0 and view["timer"]["spent"] == {}
    started = time.time()
    client.turn(sid, answer="What is the QPS at peak?", active_s=86_400)  # a lying page
    bound = time.time() - started + 1
    spent = app.web.engine.store.times(sid)["clarify"]
    assert 0 <= spent <= bound, (spent, bound)
    client.turn(sid, answer="What latency do they promise?", active_s=0)
    assert app.web.engine.store.times(sid)["clarify"] == pytest.approx(spent, abs=0.01)
    client.turn(sid, answer="/next")  # a script sends no time: none is counted
    assert app.web.engine.store.times(sid)["clarify"] == pytest.approx(spent, abs=0.01)
    assert client.view(sid)["timer"]["spent"]["clarify"] == pytest.approx(spent, abs=0.01)


def test_progress_covers_this_browsers_completed_sessions_only(app: Served,
                                                               client: Client) -> None:
    sid = client.start()
    for block in INTERVIEW_BLOCKS:
        if client.view(sid)["status"] == "completed":
            break
        client.say(sid, block)
    page = client.http.get("/progress")
    assert page.status_code == 200 and "What to practise next" in page.text
    assert f'href="/s/{sid}/report"' in page.text and "Start this case" in page.text
    other = app.client()
    try:
        assert "No completed sessions in this browser yet" in other.http.get("/progress").text
    finally:
        other.close()
    drill = client.post("/api/sessions", json={"case_id": CASE, "drill": "goals"})
    assert drill.status_code == 201, drill.text
    view = client.view(drill.json()["id"])
    assert view["drill"] == "goals" and [s["id"] for s in view["steps"]] == ["goals"]
    bad = client.post("/api/sessions", json={"case_id": CASE, "drill": "lunch"})
    assert bad.status_code == 422 and "clarify, diagnose" in bad.json()["error"]["message"]


def test_a_recording_is_transcribed_by_the_endpoint_and_a_refusal_is_named(
        fake_endpoint: object) -> None:
    from agent.model.client import ModelClient, ModelError
    from evals.fake_audio import TRANSCRIPT

    settings = Settings(base_url=fake_endpoint.url, model="fake-model")  # type: ignore[attr-defined]
    with served(settings) as app:
        c = app.client()
        try:
            sid = c.start()
            r = c.post(f"/api/sessions/{sid}/transcribe",
                       files={"audio": ("a.ogg", b"OggS" + b"\0" * 400, "audio/ogg")})
            assert r.status_code == 200, r.text
            assert r.json() == {"text": TRANSCRIPT, "bytes": 404}
            bad = c.post(f"/api/sessions/{sid}/transcribe",
                         files={"audio": ("a.txt", b"hello", "text/plain")})
            assert bad.status_code == 415 and bad.json()["error"]["code"] == "bad_audio"
        finally:
            c.close()
    client = ModelClient(settings)
    try:
        with pytest.raises(ModelError) as refused:  # what the endpoint said, not a traceback
            client.transcribe(b"", filename="a.ogg", content_type="audio/ogg", model="whisper-1")
        assert "rejected the request" in str(refused.value)
        assert "missing or empty" in str(refused.value)
    finally:
        client.close()


def test_an_exam_shows_its_feedback_at_the_end(client: Client) -> None:
    """A new user's trial: "Feedback so far" was live mid-exam and showed "Overall 1.67 / 4 -
    no hire" after one message, though the start page promises "Exam - feedback at the end,
    like the real thing". An exam's report pages wait for the end; coach mode's do not."""
    sid = client.start(mode="exam")
    client.say(sid, "Who are the users, and what is the p99 today?")
    page = client.http.get(f"/s/{sid}")
    assert "Feedback at the end" in page.text and "Feedback so far" not in page.text
    wait = client.http.get(f"/s/{sid}/report")
    assert wait.status_code == 200 and "Feedback comes at the end" in wait.text
    assert "no hire" not in wait.text and "/ 4" not in wait.text
    for fmt in ("html", "md", "json"):
        held = client.http.get(f"/s/{sid}/report.{fmt}")
        assert held.status_code == 409 and "at the end" in held.text, fmt
    coach = client.start(mode="coach")
    client.say(coach, "Who are the users, and what is the p99 today?")
    assert "Feedback so far" in client.http.get(f"/s/{coach}").text
    assert "Overall" in client.http.get(f"/s/{coach}/report").text
    for block in INTERVIEW_BLOCKS:
        if client.view(sid)["status"] == "completed":
            break
        client.say(sid, block)
    assert client.view(sid)["status"] == "completed"
    done = client.http.get(f"/s/{sid}/report")
    assert "Overall" in done.text and "Feedback comes at the end" not in done.text


def _row(page: str, sid: str) -> str:
    """The session list's table row of session ``sid``, as HTML."""
    rows = [r for r in re.split(r"<tr[ >]", page) if f"<code class=\"muted\">{sid}</code>" in r]
    assert len(rows) == 1, page
    return rows[0].split("</tr>", 1)[0]


def test_the_session_list_shows_stored_scores_and_scores_nothing(app: Served,
                                                                 client: Client) -> None:
    """Round 10: "Your sessions" had no score or band, which `interviewer sessions` shows.
    They come from the stored report summaries; a session without one says so, and listing
    scores nothing (no summary is written by it)."""
    store = app.web.engine.store
    exam = client.start(mode="exam")
    coach = client.start(mode="coach")
    client.say(coach, "Who are the users, and what is the p99 today?")
    for block in INTERVIEW_BLOCKS:
        if client.view(exam)["status"] == "completed":
            break
        client.say(exam, block)
    assert client.view(exam)["status"] == "completed"
    listed = {s["id"]: s for s in client.http.get("/api/sessions").json()}
    assert listed[exam]["score"] is None and listed[coach]["score"] is None
    page = client.http.get("/sessions").text
    assert re.search(r"<th [^>]*>Overall</th><th [^>]*>Band</th>", page)
    for sid in (exam, coach):
        assert "not scored yet" in _row(page, sid)
    assert exam not in store.results() and coach not in store.results()  # listing scored nothing
    # Once a report is made (here, the feedback pages opened), its summary is what is listed.
    assert client.http.get(f"/s/{exam}/report").status_code == 200
    assert client.http.get(f"/s/{coach}/report").status_code == 200
    results = store.results()
    listed = {s["id"]: s for s in client.http.get("/api/sessions").json()}
    for sid in (exam, coach):
        want = results[sid]
        assert listed[sid]["score"] == {"overall": want["overall"], "band": want["band"],
                                        "provisional": want["provisional"],
                                        "scorer": want["scorer"]}
    assert results[exam]["overall"] is not None and results[exam]["band"]
    assert not results[exam]["provisional"] and results[coach]["provisional"]
    page = client.http.get("/sessions").text
    row = _row(page, exam)
    assert f'{results[exam]["overall"]:.2f}' in row and f'>{results[exam]["band"]}</td>' in row
    assert "not scored yet" not in row and "(so far)" not in row
    row = _row(page, coach)
    assert "(so far)" in row and "not scored yet" not in row
    # An exam not finished shows no score even when one is stored (made in the terminal, say):
    # its feedback comes at the end, as its report page says.
    held = client.start(mode="exam")
    client.say(held, "Who are the users, and what is the p99 today?")
    store.put_result(held, {**results[exam], "provisional": True})
    listed = {s["id"]: s for s in client.http.get("/api/sessions").json()}
    assert listed[held]["score"] is None
    assert "not scored yet" in _row(client.http.get("/sessions").text, held)


def test_the_report_page_starts_with_skip_to_content(client: Client) -> None:
    """Round 10: the report page had no "Skip to content" link (the interview page has one)."""
    sid = client.start(mode="coach")
    client.say(sid, XSS)
    page = client.http.get(f"/s/{sid}/report").text
    body = page.split("<body>", 1)[1]
    assert body.startswith('<a class="skip-link" href="#main">Skip to content</a>')
    assert body.index("skip-link") < body.index("<nav") < body.index('<main id="main"')
    assert body.index('<main id="main"') < body.index("<h1>") and page.count("<main") == 1
    assert body.rstrip().endswith("</main></body></html>")
    assert "&lt;script&gt;window.__xss" in body and "<script>window.__xss" not in body
