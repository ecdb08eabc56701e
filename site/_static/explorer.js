/* Explorers without a kernel: a range input swaps pictures the explorer drew at build time.
   Each explorer cell holds the notebook's picture and a <div class="course-explorer" data-explorer=NAME>;
   _static/frames/NAME/manifest.js sets window.courseFrames[NAME] = {values, frames, messages, start, label}. */
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".course-explorer[data-explorer]").forEach((box) => {
    const name = box.dataset.explorer;
    const m = (window.courseFrames || {})[name];
    const cell = box.closest(".cell") || box.parentElement;
    const img = cell && cell.querySelector("img");
    if (!m || !img) return;
    const folder = box.dataset.frames;
    const firstAlt = img.alt;
    const input = box.querySelector("input[type=range]");
    const shown = box.querySelector("output");
    const message = box.querySelector(".course-explorer-message");
    input.max = m.values.length - 1;
    const show = (i) => {
      input.value = i;
      input.setAttribute("aria-valuetext", `${m.label} ${m.values[i]}`);
      shown.textContent = m.values[i];
      message.textContent = m.messages[i];
      if (m.frames[i] === null) { img.hidden = true; return; }
      img.hidden = false;
      img.src = `${folder}/${m.frames[i]}`;
      img.alt = i === m.start ? firstAlt : `${name} at ${m.label} ${m.values[i]}: ${m.messages[i]}`;
    };
    input.addEventListener("input", () => show(Number(input.value)));
    box.hidden = false;
    show(m.start);
  });
});
