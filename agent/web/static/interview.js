// The interview page: the interviewer's words streamed as they come, answers and commands sent
// through the API, a per-step timer, voice. Candidate text only ever reaches the page as text
// (textContent), never as markup.
import { post, getJSON, events, clock } from "./common.js";
import { Voice } from "./voice.js";

const $ = (id) => document.getElementById(id);
let view = JSON.parse($("view-data").textContent);
const form = $("answer-form"), box = $("answer"), transcript = $("transcript");
const statusEl = $("status"), live = $("live"), count = $("count");
const draftKey = `interviewer:draft:${view.id}`;
let busy = false;
let current = null; // the utterance being streamed: {li, text, kind}

// -- status line --------------------------------------------------------------------------

function status(message, kind = "warn") {
  if (!message) {
    statusEl.hidden = true;
    statusEl.textContent = "";
    return;
  }
  statusEl.hidden = false;
  statusEl.className = `status ${kind}`;
  statusEl.setAttribute("role", kind === "error" ? "alert" : "status");
  statusEl.textContent = message;
}

// -- the transcript -------------------------------------------------------------------------

function stepLabel(step) {
  const info = view.steps.find((s) => s.id === step);
  if (!info) return "Wrap-up";
  return view.drill ? `Drill · ${info.title}` : `Step ${info.number} of ${info.of} · ${info.title}`;
}

function who(role, kind) {
  if (role === "candidate") return "You";
  if (kind === "coach") return "Coach";
  if (kind === "prompt") return "The case";
  return "Interviewer";
}

function turnNode(role, kind, step, text) {
  const li = document.createElement("li");
  li.className = `turn ${role} ${kind}`;
  li.dataset.step = step;
  const label = document.createElement("span");
  label.className = "who";
  label.textContent = who(role, kind);
  const body = document.createElement("div");
  body.className = "text";
  body.textContent = text;
  li.append(label, body);
  return li;
}

// ``heading``: the first divider while its step is open says what the heading right above it
// says: kept for screen readers (the transcript is read as a list), not shown twice.
function dividerNode(step, heading = false) {
  const li = document.createElement("li");
  li.className = heading ? "step-divider visually-hidden" : "step-divider";
  li.dataset.step = step;
  const span = document.createElement("span");
  span.textContent = stepLabel(step);
  li.append(span);
  return li;
}

function lastStep() {
  const items = transcript.querySelectorAll("li[data-step]");
  return items.length ? items[items.length - 1].dataset.step : null;
}

function append(role, kind, step, text) {
  if (lastStep() !== step) transcript.append(dividerNode(step));
  const li = turnNode(role, kind, step, text);
  transcript.append(li);
  follow();
  return li;
}

// Keep the newest words and the answer box in view together.
function follow() {
  const target = form.hidden ? $("finished") : form;
  target.scrollIntoView({ block: "end" });
}

// Nothing answered yet: the answer box comes into view only as far as the interview's top
// (the case, the step's title, the start of the case prompt) stays on screen. On a phone the
// box is below the case, to be scrolled to once it is read; where it all fits, nothing moves.
function openingScroll() {
  const top = $("interview").getBoundingClientRect().top - 8;
  const need = form.getBoundingClientRect().bottom - window.innerHeight;
  const by = Math.min(need, top);
  if (by > 0) window.scrollBy(0, by);
}

function renderTranscript(turns) {
  const nodes = [];
  let prev = null;
  for (const t of turns) {
    if (t.step !== prev) {
      nodes.push(dividerNode(t.step, prev === null && t.step === view.step.id
        && view.status !== "completed"));
    }
    nodes.push(turnNode(t.role, t.kind, t.step, t.shown ?? t.text));
    prev = t.step;
  }
  transcript.replaceChildren(...nodes);
}

function renderState() {
  const done = view.status === "completed";
  // what the interview said to an input it did not keep ("We're already on the next step…")
  if (view.notice?.text) status(view.notice.text, "info");
  document.body.dataset.seq = String(view.seq); // turns recorded so far (tests wait on it)
  document.body.dataset.status = view.status;
  $("step-title").textContent = done ? `${view.drill ? "Drill" : "Interview"} complete`
    : view.drill ? `Drill · ${view.step.title}`
    : `Step ${view.step.number} of ${view.step.of} · ${view.step.title}`;
  const order = view.steps.map((s) => s.id);
  const at = done ? order.length : order.indexOf(view.step.id);
  // a step left without an answer (skipped, or moved on from) is passed, not done: it
  // shows so, in words too
  const answered = new Set(view.turns.filter((t) => t.role === "candidate"
    && t.kind === "answer").map((t) => t.step));
  for (const li of $("steps").querySelectorAll("li")) {
    const i = order.indexOf(li.dataset.step);
    li.classList.toggle("done", i < at);
    const skip = i < at && !answered.has(li.dataset.step);
    li.classList.toggle("skipped", skip);
    let note = li.querySelector(".skip-note");
    if (skip && !note) {
      note = document.createElement("span");
      note.className = "skip-note";
      note.textContent = " (no answer)";
      li.append(note);
    } else if (!skip && note) note.remove();
    if (i === at) li.setAttribute("aria-current", "step");
    else li.removeAttribute("aria-current");
  }
  form.hidden = done;
  $("finished").hidden = !done;
  $("report-link").textContent = done ? "Your feedback"
    : view.mode === "exam" ? "Feedback at the end" : "Feedback so far";
  timer.render();
}

// -- the timer: active time on the open question, shown with the step's time so far ---------

const timer = {
  el: $("timer"),
  key: () => `interviewer:open:${view.id}:${view.seq}`,
  open: 0, // seconds with the current question open (kept across reloads)
  last: performance.now(),
  start() {
    this.open = Number(localStorage.getItem(this.key()) || 0);
    this.last = performance.now();
    setInterval(() => this.tick(), 1000);
    document.addEventListener("visibilitychange", () => { this.last = performance.now(); });
    this.render();
  },
  tick() {
    const now = performance.now();
    if (document.visibilityState === "visible" && !busy && view.status !== "completed") {
      this.open += (now - this.last) / 1000;
      localStorage.setItem(this.key(), String(Math.round(this.open)));
    }
    this.last = now;
    this.render();
  },
  reset() {
    localStorage.removeItem(this.key());
    this.open = 0;
    this.last = performance.now();
  },
  render() {
    const t = view.timer;
    if (!t || view.status === "completed") { this.el.hidden = true; return; }
    this.el.hidden = false;
    const spent = (t.spent?.[view.step.id] || 0) + this.open;
    const budget = t.budget?.[view.step.id];
    $("timer-spent").textContent = clock(spent);
    const over = Boolean(budget && spent > budget);
    $("timer-budget").textContent = budget
      ? ` of ${clock(budget)} suggested${over ? " · over time" : ""}` : "";
    $("timer-bar").style.width = budget ? `${Math.min(100, (100 * spent) / budget)}%` : "0";
    this.el.classList.toggle("over", over); // said in words too, not by colour alone
  },
};

// -- turns ----------------------------------------------------------------------------------

const voice = new Voice(view, box, { status, onText: () => { saveDraft(); countChars(); } });

function setBusy(on) {
  busy = on;
  form.setAttribute("aria-busy", on ? "true" : "false");
  for (const b of form.querySelectorAll("button")) {
    if (b.id === "mic") continue;
    b.disabled = on || (b.dataset.command === "hint" && !view.commands.find((c) => c.name === "hint")?.enabled);
  }
}

function onEvent(event, data) {
  switch (event) {
    case "accepted": {
      const step = view.step.id;
      if (data.answer !== undefined) {
        append("candidate", "answer", step, data.answer);
        box.value = "";
        box.removeAttribute("aria-invalid");
        localStorage.removeItem(draftKey);
        countChars();
      } else if (data.command) {
        const typed = `/${data.command}`;
        append("candidate", "command", step, view.command_shown?.[typed] || typed);
        if (box.value.trim().toLowerCase() === typed) {  // typed in the box, not a button
          box.value = "";
          localStorage.removeItem(draftKey);
          countChars();
        }
      }
      status("");
      break;
    }
    case "begin": {
      const step = data.step || view.step.id;
      const li = append("interviewer", data.kind, step, "");
      li.classList.add("streaming");
      current = { li, text: "", kind: data.kind };
      break;
    }
    case "say":
      if (!current) break;
      current.text += data.text;
      current.li.querySelector(".text").textContent = current.text;
      follow();
      break;
    case "restart":
      if (current) {
        current.text = "";
        current.li.querySelector(".text").textContent = "";
      }
      break;
    case "end":
      if (current) {
        current.li.classList.remove("streaming");
        live.textContent = current.text;
        voice.speak(current.text);
        current = null;
      }
      break;
    case "state":
      view = data;
      renderTranscript(view.turns);
      timer.reset();
      renderState();
      follow();
      break;
    case "notice":  // the database went away mid-turn: the turn waits for it
      status(data.text, data.text ? "info" : "");
      break;
    case "error":
      status(data.message, "error");
      break;
  }
}

async function runTurn(url, body) {
  setBusy(true);
  voice.stopSpeaking();
  let finished = false;
  try {
    const response = await post(url, body);
    for await (const { event, data } of events(response)) {
      onEvent(event, data);
      if (event === "done") finished = true;
    }
    if (!finished && statusEl.hidden) {
      status("The reply was cut off. Your answer is saved; reload the page to see the reply.", "error");
    }
  } catch (e) {
    if (e.code === "empty" || e.code === "too_long") box.setAttribute("aria-invalid", "true");
    if (e.code === "unknown_command" && /^\/(help|repeat|quit)$/i.test(box.value.trim())) {
      // What the page has instead of a command it does not send: said, and the box emptied
      // (a trial's typed "/help" stayed in the box under its answer)
      box.value = "";
      localStorage.removeItem(draftKey);
      countChars();
      status(e.message, "info");
    } else {
      status(e.message || "The connection broke before the reply finished. Your answer is saved; reload the page to see the reply.", "error");
    }
    if (e.code === "stale" || e.code === "pending" || e.code === "finished") await refresh();
    else if (e.code === "busy") setTimeout(() => { if (!busy) refresh(); }, 3000);
  } finally {
    setBusy(false);
    if (view.status === "completed") $("see-report").focus();
    else box.focus();
  }
  return finished;
}

async function refresh() {
  try {
    view = await getJSON(`/api/sessions/${view.id}`);
    renderTranscript(view.turns);
    renderState();
    if (view.needs_recovery) await recover();
  } catch (e) {
    status(e.message, "error");
  }
}

async function recover() {
  status(view.pending ? "Finishing your last answer…" : "Catching up with the interview…", "info");
  await runTurn(`/api/sessions/${view.id}/recover`);
}

function send(body) {
  if (busy) return;
  runTurn(`/api/sessions/${view.id}/turn`, { ...body, seq: view.seq, active_s: Math.round(timer.open) });
}

// -- the answer box -------------------------------------------------------------------------

function saveDraft() {
  if (box.value.trim()) localStorage.setItem(draftKey, box.value);
  else localStorage.removeItem(draftKey);
}

function countChars() {
  count.textContent = box.value.length.toLocaleString();
  count.parentElement.classList.toggle("error", box.value.length > view.max_answer_chars);
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  send({ answer: box.value });
});

box.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    form.requestSubmit();
  } else if (e.key === "Escape" && voice.active()) {
    voice.stop();
  }
});
box.addEventListener("input", () => { saveDraft(); countChars(); });

for (const button of form.querySelectorAll("button[data-command]")) {
  button.addEventListener("click", () => {
    const name = button.dataset.command;
    if (name === "repeat") {
      const li = append("interviewer", "repeat", view.step.id, view.question);
      li.querySelector(".who").textContent = "Interviewer (again)";
      live.textContent = view.question;
      voice.speak(view.question);
      box.focus();
      return;
    }
    if (name === "skip" && !window.confirm("Skip this step without answering? It will score 1 of 4.")) {
      status("Not skipped.", "info"); // Escape or Cancel: said, not silent
      return;
    }
    send({ command: name });
  });
}

// -- start ----------------------------------------------------------------------------------

const draft = localStorage.getItem(draftKey);
if (draft && !box.value) box.value = draft;
countChars();
voice.setup();
timer.start();
renderState();
const opening = view.status !== "completed" && !view.turns.some((t) => t.role === "candidate");
if (opening) openingScroll();
else follow();
if (view.needs_recovery) recover();
else if (view.status !== "completed") box.focus({ preventScroll: opening });
else $("see-report").focus(); // a finished interview reopened: as when it finishes live
