// Dates in the reader's own time zone and format.
for (const el of document.querySelectorAll("time[data-epoch]")) {
  const when = new Date(Number(el.dataset.epoch) * 1000);
  el.textContent = when.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  el.dateTime = when.toISOString();
}
