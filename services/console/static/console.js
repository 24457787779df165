/* The console's only script (served from this origin: the content security policy allows no other).
   Every page works without it; it adds: the code picker searching as you type and adding a code with
   one click, confirmation before a decision that cannot be undone, and printing a receipt. */
(function () {
  "use strict";

  function picker(section) {
    var input = section.querySelector("input[type=search]");
    var list = section.querySelector(".picker-results");
    var status = section.querySelector("[aria-live]");
    var target = document.getElementById(section.getAttribute("data-target"));
    var on = section.getAttribute("data-on") || "";
    var timer = null;
    var asked = 0;

    function show(codes) {
      list.textContent = "";
      codes.forEach(function (c) {
        var item = document.createElement("li");
        var text = document.createElement("span");
        var code = document.createElement("code");
        code.textContent = c.code;
        text.appendChild(code);
        text.appendChild(document.createTextNode(" " + c.description));
        var add = document.createElement("button");
        add.type = "button";
        add.className = "secondary";
        add.setAttribute("data-add-code", c.code);
        add.textContent = "Add " + c.code;
        item.appendChild(text);
        item.appendChild(add);
        list.appendChild(item);
      });
      status.textContent = codes.length + (codes.length === 1 ? " code" : " codes") + " found.";
    }

    function search() {
      var q = input.value.trim();
      if (q.length < 2) { return; }
      var mine = ++asked;
      fetch("/coding/icd10?q=" + encodeURIComponent(q) + "&on=" + encodeURIComponent(on), {
        credentials: "same-origin", headers: { "Accept": "application/json" }
      }).then(function (r) {
        if (!r.ok) { throw new Error(r.status); }
        return r.json();
      }).then(function (answer) {
        if (mine === asked) { show(answer.codes || []); }
      }).catch(function () {
        status.textContent = "The code search did not answer; press Search to try again.";
      });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(search, 250);
    });
    list.addEventListener("click", function (event) {
      var button = event.target.closest("[data-add-code]");
      if (!button || !target) { return; }
      var code = button.getAttribute("data-add-code");
      var codes = target.value.split(/[\s,;]+/).filter(Boolean);
      if (codes.indexOf(code) < 0) { codes.push(code); }
      target.value = codes.join(", ");
      status.textContent = code + " added to the diagnoses (number " + (codes.indexOf(code) + 1) + ").";
      target.focus();
    });
  }

  document.querySelectorAll("[data-picker]").forEach(picker);

  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });

  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
