/* Relais queue and case pages: a self-refreshing queue, new messages as they arrive, and
   a live SMS count. Everything works without it: the pages reload or have a link. */
(function () {
  "use strict";

  // --- The queue list: fetched again every few seconds, unless the worker is in it. ---
  var results = document.getElementById("queue-results");
  if (results && results.dataset.refreshUrl) {
    var every = (parseInt(results.dataset.refreshSeconds, 10) || 30) * 1000;
    window.setInterval(function () {
      // Replacing the list under the keyboard focus would lose the worker's place.
      if (results.contains(document.activeElement) || document.hidden) return;
      fetch(results.dataset.refreshUrl, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) results.innerHTML = html; })
        .catch(function () { /* offline for a moment: try again next time */ });
    }, every);
  }

  // --- The transcript: new messages appended at the bottom. ---
  var transcript = document.getElementById("transcript");
  if (transcript && transcript.dataset.pollUrl) {
    var pollEvery = (parseInt(transcript.dataset.pollSeconds, 10) || 10) * 1000;
    window.setInterval(function () {
      if (document.hidden) return;
      var url = transcript.dataset.pollUrl + "?after=" + encodeURIComponent(transcript.dataset.lastId || "0");
      fetch(url, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (!html || !html.trim()) return;
          var holder = document.createElement("template");
          holder.innerHTML = html;
          holder.content.querySelectorAll("li[data-id]").forEach(function (li) {
            if (transcript.querySelector('li[data-id="' + li.dataset.id + '"]')) return;
            transcript.appendChild(li);
            transcript.dataset.lastId = li.dataset.id;
          });
        })
        .catch(function () {});
    }, pollEvery);
  }

  // --- SMS count, as bot/sms.py counts it: GSM-7 160/153, UCS-2 70/67 per part. ---
  var counter = document.querySelector("[data-sms-counter]");
  if (counter) {
    var box = document.getElementById(counter.dataset.smsCounter);
    var basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
      "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    var extension = "\f^{}\\[~]|€";
    var count = function (text) {
      var chars = Array.from(text);
      var gsm = chars.every(function (c) { return basic.indexOf(c) >= 0 || extension.indexOf(c) >= 0; });
      var sizes = chars.map(function (c) {
        if (gsm) return extension.indexOf(c) >= 0 ? 2 : 1;
        return c.codePointAt(0) > 0xffff ? 2 : 1;
      });
      var units = sizes.reduce(function (a, b) { return a + b; }, 0);
      var single = gsm ? 160 : 70, perPart = gsm ? 153 : 67;
      var parts = units === 0 ? 0 : 1;
      if (units > single) {
        var used = 0;
        sizes.forEach(function (size) {
          if (used + size > perPart) { parts += 1; used = 0; }
          used += size;
        });
      }
      return { encoding: gsm ? "GSM-7" : "UCS-2", units: units, parts: parts };
    };
    var update = function () {
      var c = count(box.value.trim());
      counter.textContent = counter.dataset.template
        .replace("{count}", c.parts).replace("{encoding}", c.encoding).replace("{units}", c.units);
    };
    if (box) {
      box.addEventListener("input", update);
      update();
    }
  }
})();
