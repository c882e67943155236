// deepfake-web: drag-and-drop upload with progress, and live progress of an analysis.
// Plain JavaScript, no dependencies. Without JavaScript the forms still work.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = csrfMeta ? csrfMeta.content : "";

  function showError(message) {
    var box = document.getElementById("upload-error");
    if (!box) { return; }
    box.textContent = message;
    box.hidden = false;
    box.focus && box.focus();
  }

  // --- upload page -----------------------------------------------------------
  var form = document.getElementById("upload-form");
  if (form) {
    var input = document.getElementById("file");
    var zone = document.getElementById("dropzone");
    var chosen = document.getElementById("chosen");
    var submit = document.getElementById("submit");
    var bar = document.getElementById("upload-bar");
    var pct = document.getElementById("upload-pct");
    var box = document.getElementById("upload-progress");

    function describe() {
      var f = input.files && input.files[0];
      var size = !f ? "" : f.size < 1e6 ? Math.max(1, Math.round(f.size / 1e3)) + " kB"
        : (f.size / 1e6).toFixed(1) + " MB";
      chosen.textContent = f ? f.name + " (" + size + ")" : "";
    }
    input.addEventListener("change", describe);

    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (e) {
        e.preventDefault();
        zone.classList.add("over");
      });
    });
    ["dragleave", "dragend"].forEach(function (type) {
      zone.addEventListener(type, function () { zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      zone.classList.remove("over");
      var files = e.dataTransfer && e.dataTransfer.files;
      if (!files || !files.length) { return; }
      if (files.length > 1) { showError("Drop one file at a time."); return; }
      input.files = files;
      describe();
      submit.focus();
    });

    form.addEventListener("submit", function (e) {
      if (!window.FormData || !window.XMLHttpRequest) { return; } // plain form post
      e.preventDefault();
      if (!input.files || !input.files.length) {
        showError("Choose a video or image file first (or drop one on the box).");
        return;
      }
      var data = new FormData(form);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.dataset.api);
      xhr.setRequestHeader("X-CSRFToken", csrfToken);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (ev) {
        if (ev.lengthComputable) {
          bar.value = ev.loaded / ev.total;
          pct.textContent = Math.round(100 * ev.loaded / ev.total) + " %";
        }
      });
      xhr.addEventListener("load", function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (err) { body = null; }
        if ((xhr.status === 200 || xhr.status === 202) && body && body.result_url) {
          pct.textContent = "100 %, starting the analysis…";
          window.location.assign(body.result_url + (body.existing ? "?existing=1" : ""));
          return;
        }
        submit.disabled = false;
        box.hidden = true;
        showError(body && body.error ? body.error.message : "The upload failed (HTTP " + xhr.status + ").");
      });
      xhr.addEventListener("error", function () {
        submit.disabled = false;
        box.hidden = true;
        showError("The upload was interrupted: the server could not be reached.");
      });
      document.getElementById("upload-error").hidden = true;
      submit.disabled = true;
      box.hidden = false;
      bar.value = 0;
      xhr.send(data);
    });
  }

  // --- result page while the analysis runs ----------------------------------------
  var live = document.getElementById("analysis-live");
  if (live) {
    var progress = document.getElementById("analysis-progress");
    var stage = document.getElementById("stage");
    var pctText = document.getElementById("progress-pct");
    var failures = 0;
    var poll = function () {
      fetch(live.dataset.statusUrl, { headers: { Accept: "application/json" }, cache: "no-store" })
        .then(function (r) {
          if (r.status === 404) { window.location.reload(); return null; }
          return r.json();
        })
        .then(function (s) {
          if (!s) { return; }
          failures = 0;
          if (s.status === "done" || s.status === "failed") {
            progress.value = 1;
            window.location.reload();
            return;
          }
          progress.value = s.progress || 0;
          pctText.textContent = Math.round(100 * (s.progress || 0)) + " %";
          stage.textContent = s.stage || s.status;
          window.setTimeout(poll, 1000);
        })
        .catch(function () {
          failures += 1;
          stage.textContent = "Connection to the server lost; retrying…";
          window.setTimeout(poll, Math.min(10000, 1000 * failures));
        });
    };
    window.setTimeout(poll, 700);
  }
}());
