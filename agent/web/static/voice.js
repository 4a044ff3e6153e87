// Voice, progressively: the interviewer's words spoken by the browser where it has voices;
// answers spoken into the browser's own speech recognition where it has one, else recorded and
// transcribed by the server's endpoint. The text always lands in the answer box, editable,
// and is never sent by itself.
import { post } from "./common.js";

const MAX_RECORDING_S = 300;
const Recognition = window.SpeechRecognition || window.webkitSpeechRecognition;
// Errors after which the browser's recognition is no use here (no service, no permission).
const RECOGNITION_UNAVAILABLE = new Set(["network", "not-allowed", "service-not-allowed",
  "language-not-supported", "audio-capture"]);

export class Voice {
  constructor(view, box, { status, onText }) {
    this.view = view;
    this.box = box;
    this.status = status;
    this.onText = onText;
    this.mic = document.getElementById("mic");
    this.note = document.getElementById("voice-note");
    this.speakOption = document.getElementById("speak-option");
    this.speakBox = document.getElementById("speak");
    this.recording = null;
    this.recognizing = null;
    this.useRecognition = Boolean(Recognition) && sessionStorage.getItem("interviewer:no-recognition") !== "1";
  }

  setup() {
    this.setupSpeech();
    this.setupInput();
  }

  // -- the interviewer's words, read aloud -------------------------------------------------

  setupSpeech() {
    const synth = window.speechSynthesis;
    const refresh = () => {
      const voices = synth ? synth.getVoices() : [];
      if (voices.length) {
        this.speakOption.hidden = false;
        this.speakBox.checked = localStorage.getItem("interviewer:speak") === "1";
        this.setNote("speech", "");
      } else {
        this.speakOption.hidden = true;
        this.setNote("speech", "Your browser has no voices to read the interviewer aloud.");
      }
    };
    if (synth) synth.addEventListener?.("voiceschanged", refresh);
    refresh();
    this.speakBox.addEventListener("change", () => {
      localStorage.setItem("interviewer:speak", this.speakBox.checked ? "1" : "0");
      if (!this.speakBox.checked) window.speechSynthesis?.cancel();
    });
  }

  speak(text) {
    if (this.speakOption.hidden || !this.speakBox.checked || !text) return;
    const utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = document.documentElement.lang || "en";
    window.speechSynthesis.speak(utterance);
  }

  stopSpeaking() {
    window.speechSynthesis?.cancel();
  }

  // -- the candidate's answer, spoken ------------------------------------------------------

  setupInput() {
    const voice = this.view.voice;
    if (!voice.input) {
      this.mic.hidden = true;
      this.setNote("input", voice.reason);
      return;
    }
    const canRecord = Boolean(voice.transcribe && navigator.mediaDevices?.getUserMedia && window.MediaRecorder);
    if (!this.useRecognition && !canRecord) {
      this.mic.hidden = true;
      this.setNote("input", voice.reason || "Your browser can neither recognise speech nor record audio here.");
      return;
    }
    this.canRecord = canRecord;
    this.mic.hidden = false;
    this.setNote("input", "");
    this.mic.addEventListener("click", () => this.toggle());
  }

  setNote(which, text) {
    this.noteText = { ...(this.noteText || {}), [which]: text };
    this.note.textContent = Object.values(this.noteText).filter(Boolean).join(" ");
  }

  active() {
    return Boolean(this.recording || this.recognizing);
  }

  toggle() {
    if (this.active()) this.stop();
    else if (this.useRecognition) this.recognize();
    else this.record();
  }

  stop() {
    if (this.recognizing) this.recognizing.stop();
    if (this.recording) this.recording.stop();
  }

  pressed(on, label) {
    this.mic.setAttribute("aria-pressed", on ? "true" : "false");
    this.mic.querySelector(".mic-label").textContent = label;
  }

  recognize() {
    const rec = new Recognition();
    rec.lang = document.documentElement.lang || "en";
    rec.continuous = true;
    rec.interimResults = true;
    const start = this.box.selectionStart ?? this.box.value.length;
    const before = this.box.value.slice(0, start), after = this.box.value.slice(start);
    const sep = before && !/\s$/.test(before) ? " " : "";
    let failed = false;
    rec.onresult = (e) => {
      let text = "";
      for (let i = 0; i < e.results.length; i++) text += e.results[i][0].transcript;
      this.box.value = before + sep + text.trim() + after;
      this.onText();
    };
    rec.onerror = (e) => {
      failed = true;
      if (RECOGNITION_UNAVAILABLE.has(e.error) && this.canRecord) {
        // The browser has the API but no service behind it: record and transcribe instead.
        this.useRecognition = false;
        sessionStorage.setItem("interviewer:no-recognition", "1");
        this.status(`Your browser's speech recognition is not available (${e.error}); recording instead — press Stop when you are done.`, "info");
        this.recognizing = null;
        this.record();
      } else if (e.error !== "no-speech" && e.error !== "aborted") {
        this.status(`Speech recognition stopped: ${e.error}. Type your answer instead.`, "error");
      }
    };
    rec.onend = () => {
      if (this.recognizing === rec) this.recognizing = null;
      if (!this.recording) this.pressed(false, "Speak");
      if (!failed) this.box.focus();
    };
    this.recognizing = rec;
    this.pressed(true, "Stop");
    this.status("Listening… speak your answer; press Stop (or Escape) when you are done.", "info");
    rec.start();
  }

  async record() {
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (e) {
      this.status(`The microphone is not available (${e.name}); type your answer instead.`, "error");
      this.pressed(false, "Speak");
      return;
    }
    const type = ["audio/webm;codecs=opus", "audio/webm", "audio/ogg;codecs=opus", "audio/mp4"]
      .find((t) => MediaRecorder.isTypeSupported(t));
    const recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
    const chunks = [];
    const started = Date.now();
    recorder.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
    const tick = setInterval(() => {
      const s = Math.round((Date.now() - started) / 1000);
      this.pressed(true, `Stop (${s} s)`);
      if (s >= MAX_RECORDING_S) recorder.stop();
    }, 500);
    recorder.onstop = async () => {
      clearInterval(tick);
      stream.getTracks().forEach((t) => t.stop());
      this.recording = null;
      this.pressed(false, "Speak");
      const blob = new Blob(chunks, { type: (recorder.mimeType || type || "audio/webm").split(";")[0] });
      await this.transcribe(blob);
    };
    this.recording = recorder;
    this.pressed(true, "Stop (0 s)");
    this.status("Recording… press Stop (or Escape) when you are done.", "info");
    recorder.start(250);
  }

  async transcribe(blob) {
    if (!blob.size) {
      this.status("Nothing was recorded; try again, or type your answer.", "error");
      return;
    }
    this.mic.disabled = true;
    this.status("Transcribing your recording…", "info");
    const form = new FormData();
    const ext = blob.type.includes("ogg") ? "ogg" : blob.type.includes("mp4") ? "mp4" : "webm";
    form.append("audio", blob, `answer.${ext}`);
    try {
      const response = await post(`/api/sessions/${this.view.id}/transcribe`, form);
      const { text } = await response.json();
      const start = this.box.selectionStart ?? this.box.value.length;
      const before = this.box.value.slice(0, start), after = this.box.value.slice(start);
      const sep = before && !/\s$/.test(before) ? " " : "";
      this.box.value = before + sep + text + after;
      this.onText();
      this.status("Transcribed. Check and edit your answer, then send it.", "info");
      this.box.focus();
    } catch (e) {
      this.status(e.message, "error");
    } finally {
      this.mic.disabled = false;
    }
  }
}
