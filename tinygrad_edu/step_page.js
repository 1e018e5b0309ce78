// The player of the step-through page: applies each frame's changes to the one picture.
// Going forward applies a frame and remembers what it replaced; going back restores that,
// so a step costs what it changes, never the size of the graph.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("step-data").textContent);
  var svg = document.querySelector("#picture svg");
  var slots = data.slots, frames = data.frames;
  var cells = [];  // slot number -> its <text>
  svg.querySelectorAll("text[data-s]").forEach(function (el) { cells[+el.getAttribute("data-s")] = el; });
  var undo = [];  // per applied frame: what it replaced
  var applied = -1, picked = {};  // node -> element number the reader clicked
  var zoom = 1, baseW = parseFloat(svg.getAttribute("width")), baseH = parseFloat(svg.getAttribute("height"));

  function setText(slot, text) {
    var el = cells[slot], old = el.textContent;
    el.textContent = text.padStart(slots[slot][3], "\u00a0");
    return old;
  }
  function node(id) { return document.getElementById(id); }
  function apply(frame) {
    var saved = {t: [], c: []};
    frame.t.forEach(function (ch) { saved.t.push([ch[0], setText(ch[0], ch[1])]); });
    frame.c.forEach(function (ch) {
      var el = node(ch[0]);
      saved.c.push([ch[0], ch[1], el.classList.contains(ch[1])]);
      el.classList.toggle(ch[1], !!ch[2]);
    });
    undo.push(saved);
  }
  function revert() {
    var saved = undo.pop();
    saved.t.reverse().forEach(function (ch) { cells[ch[0]].textContent = ch[1]; });
    saved.c.reverse().forEach(function (ch) { node(ch[0]).classList.toggle(ch[1], ch[2]); });
  }
  function show(i) {
    i = Math.max(0, Math.min(frames.length - 1, i));
    while (applied < i) { applied += 1; apply(frames[applied]); }
    while (applied > i) { revert(); applied -= 1; }
    var frame = frames[i];
    svg.querySelectorAll(".current").forEach(function (el) { el.classList.remove("current"); });
    svg.querySelectorAll("g.edge.fwd, g.edge.back").forEach(function (el) { el.classList.remove("fwd", "back"); });
    frame.f.forEach(function (id) { node(id).classList.add("current"); });
    frame.e.forEach(function (e) { node("e" + e[0]).classList.add(e[1]); });
    document.getElementById("counter").textContent = "step " + (i + 1) + "/" + frames.length + ": " + frame.n;
    document.getElementById("caption").innerHTML = frame.h;
    explain();
    focus(frame.f);
    document.body.setAttribute("data-step", String(i));
  }
  function explain() {
    var frame = frames[applied], box = document.getElementById("explain");
    box.innerHTML = "";
    svg.querySelectorAll("text.picked").forEach(function (el) { el.classList.remove("picked"); });
    frame.x.forEach(function (entry) {
      var k = Math.min(picked[entry[0]] || 0, entry[1].length - 1);
      var div = document.createElement("div");
      div.innerHTML = entry[1][k];
      div.setAttribute("data-node", entry[0]);
      box.appendChild(div);
      cells.forEach(function (el, s) {
        if (slots[s][0] === entry[0] && slots[s][1] === k && slots[s][2] !== "h") { el.classList.add("picked"); }
      });
    });
    if (frame.x.length && frame.x.some(function (e) { return e[1].length > 1; })) {
      var hint = document.createElement("div");
      hint.className = "hint";
      hint.textContent = "Click a number in a box to see its element.";
      box.appendChild(hint);
    }
  }
  function focus(ids) {
    if (!ids.length) { return; }
    var view = document.getElementById("picture"), area = view.getBoundingClientRect();
    var left = Infinity, top = Infinity, right = -Infinity, bottom = -Infinity;
    ids.forEach(function (id) {
      var r = node(id).getBoundingClientRect();
      left = Math.min(left, r.left); top = Math.min(top, r.top);
      right = Math.max(right, r.right); bottom = Math.max(bottom, r.bottom);
    });
    view.scrollLeft += (left + right) / 2 - (area.left + area.width / 2);
    view.scrollTop += (top + bottom) / 2 - (area.top + area.height / 2);
  }
  function resize(factor) {
    zoom = Math.max(0.5, Math.min(3, zoom * factor));
    svg.style.width = (baseW * zoom * 4 / 3) + "px";  // the SVG's size is in pt: 1pt = 4/3 px
    svg.style.height = (baseH * zoom * 4 / 3) + "px";
    if (applied >= 0) { focus(frames[applied].f); }
  }
  function present() {
    var on = document.body.classList.toggle("presenter");
    if (on && document.documentElement.requestFullscreen) {
      document.documentElement.requestFullscreen().catch(function () {});
    } else if (!on && document.fullscreenElement) {
      document.exitFullscreen();
    }
    resize(on ? 1.25 : 0.8);
  }
  svg.addEventListener("click", function (e) {
    var el = e.target.closest("text[data-s]");
    if (!el) { return; }
    var slot = slots[+el.getAttribute("data-s")];
    if (slot[2] === "h") { return; }
    picked[slot[0]] = slot[1];
    explain();
  });
  document.getElementById("prev").onclick = function () { show(applied - 1); };
  document.getElementById("next").onclick = function () { show(applied + 1); };
  document.getElementById("smaller").onclick = function () { resize(1 / 1.2); };
  document.getElementById("larger").onclick = function () { resize(1.2); };
  document.getElementById("present").onclick = present;
  document.addEventListener("keydown", function (e) {
    if (e.key === "ArrowRight" || e.key === "PageDown" || e.key === " ") { show(applied + 1); }
    else if (e.key === "ArrowLeft" || e.key === "PageUp") { show(applied - 1); }
    else if (e.key === "Home") { show(0); }
    else if (e.key === "End") { show(frames.length - 1); }
    else if (e.key === "+" || e.key === "=") { resize(1.2); }
    else if (e.key === "-") { resize(1 / 1.2); }
    else if (e.key === "p") { present(); }
    else { return; }
    e.preventDefault();
  });
  window.stepPage = {show: show, frames: frames, slots: slots, cells: cells, current: function () { return applied; }};
  resize(1);
  show(0);
})();
