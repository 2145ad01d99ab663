// The simulator works without this file; it only saves a few taps.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Show the latest message, as a phone does.
  const log = document.querySelector(".phone-log");
  if (log) {
    log.scrollTop = log.scrollHeight;
  }
  // Back from sending: ready to type the next message.
  if (window.location.hash === "#composer") {
    const input = document.querySelector("#composer input[name=text]");
    if (input) {
      input.focus();
    }
  }
  // Choosing how to display applies at once.
  for (const form of document.querySelectorAll("form.auto-submit")) {
    form.addEventListener("change", () => form.requestSubmit());
  }
  // One message per tap, even on a slow connection.
  for (const form of document.querySelectorAll("form.composer, form.keyboard")) {
    form.addEventListener("submit", () => {
      window.setTimeout(() => {
        for (const button of form.querySelectorAll("button")) {
          button.disabled = true;
        }
      }, 0);
    });
  }
});
