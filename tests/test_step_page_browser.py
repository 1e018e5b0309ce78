"""The step-through page in a real browser (headless Chromium, driven by Playwright): every
step reached by keys and buttons, the highlighted node and every number on screen checked
against the engine's values at each step, no console errors, no node moving between steps,
and text readable at 1280×720. Skipped, saying why, where Playwright, Chromium or Graphviz
is missing (pip install "tinygrad_edu[browser]"; apt-get install chromium graphviz)."""
import os
import shutil

import numpy as np
import pytest

from tinygrad_edu import xor_demo
from tinygrad_edu.draw import available_renderers
from tinygrad_edu.picture import number_text
from tinygrad_edu.step_page import elements
from tinygrad_edu.steps import backward_steps

CHROMIUM = os.environ.get("TINYGRAD_EDU_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

sync_api = pytest.importorskip("playwright.sync_api", reason='Playwright is not installed: pip install "tinygrad_edu[browser]"')
pytestmark = [
    pytest.mark.skipif(not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)),
                       reason=f"no Chromium at {CHROMIUM} (apt-get install chromium, or set TINYGRAD_EDU_CHROMIUM)"),
    pytest.mark.skipif(not available_renderers(), reason="no Graphviz renderer installed"),
]


@pytest.fixture(scope="module")
def xor(tmp_path_factory):
    """The XOR network at its random start: (steps, page path, expected screens)."""
    model = xor_demo.random_start(xor_demo.DEFAULT_SEED)
    *_, loss = xor_demo.loss_graph(model)
    steps = backward_steps(loss, params=xor_demo.names(model), expand=True)
    path = tmp_path_factory.mktemp("page") / "xor.html"
    steps.write_html(path, title="XOR")
    return steps, path, expected_screens(steps)


def expected_screens(steps):
    """What each step must show, from the engine alone: per step, the highlighted nodes and
    the text of every data and gradient cell (node, kind, element) -> text."""
    pic = steps.picture
    boxes = [(node, t) for node, t, _, _ in pic.values if pic.names[node] is not None]
    forward = [t for t in steps.forward if id(t) in pic.maker]
    running = [s for s in steps if s.tensor.op is not None]
    screens, known, grads = [], {id(t) for _, t in boxes if t.op is None}, {}

    def screen(focus):
        cells = {}
        for node, t in boxes:
            for n, k in enumerate(elements(t)):
                cells[(node, "d", n)] = cell(t.data, k) if id(t) in known else "·"
                if t.requires_grad:
                    cells[(node, "g", n)] = cell(grads[id(t)], k) if id(t) in grads else "—"
        screens.append((focus, cells))

    screen([])
    for t in forward:
        known.add(id(t))
        screen([pic.node_of[id(t)], pic.maker[id(t)]])
    for s in running:
        if s.tensor is steps.root:
            grads[id(s.tensor)] = s.grad.data
        for x, share in s.shares:
            grads[id(x)] = grads.get(id(x), 0) + share.data
        screen([pic.node_of[id(s.tensor)], pic.maker[id(s.tensor)]])
    return screens


def cell(a, k):
    a = np.asarray(a)
    return number_text(a[k]) if k is not None else None


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, xor):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    pg = context.new_page()
    pg.errors = []
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type in ("error", "warning") else None)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.goto(xor[1].as_uri())
    yield pg
    context.close()


STATE = """() => ({
  step: window.stepPage.current(),
  counter: document.getElementById("counter").textContent,
  current: Array.from(document.querySelectorAll("#picture .current")).map(e => e.id),
  cells: window.stepPage.cells.map(e => e.textContent.replace(/\\u00a0/g, " ").trim()),
  boxes: Array.from(document.querySelectorAll("g.node")).map(g => { const b = g.getBBox(); return [g.id, b.x, b.y, b.width, b.height]; }),
})"""


def check_screen(state, slots, screens):
    focus, cells = screens[state["step"]]
    assert sorted(state["current"]) == sorted(focus)
    for (node, n, kind, _), text in zip(slots, state["cells"]):
        if kind != "h":
            assert text == cells[(node, kind, n)], f"step {state['step']}: {node} {kind}{n} shows {text!r}"


def test_every_step_by_keys_shows_the_engines_numbers_and_nothing_moves(page, xor):
    steps, _, screens = xor
    slots = page.evaluate("window.stepPage.slots")
    first = page.evaluate(STATE)
    assert first["step"] == 0 and first["counter"] == f"step 1/{len(screens)}: start"
    seen = [first]
    for _ in range(len(screens) - 1):
        page.keyboard.press("ArrowRight")
        seen.append(page.evaluate(STATE))
    page.keyboard.press("ArrowRight")  # past the end: stays
    assert page.evaluate(STATE)["step"] == len(screens) - 1
    for _ in range(len(screens) - 1):  # and all the way back, undoing every change
        page.keyboard.press("ArrowLeft")
        seen.append(page.evaluate(STATE))
    assert [s["step"] for s in seen] == list(range(len(screens))) + list(range(len(screens) - 2, -1, -1))
    for state in seen:
        check_screen(state, slots, screens)
        assert state["boxes"] == first["boxes"]  # one layout: no node moves
    # the last screen shows every gradient backward() computes
    final = screens[-1][1]
    for node, t, _, _ in steps.picture.values:
        if t.requires_grad and steps.picture.names[node] is not None:
            assert final[(node, "g", 0)] == cell(steps.grads[t].data, elements(t)[0])
    page.keyboard.press("End")
    assert page.evaluate(STATE)["step"] == len(screens) - 1
    page.keyboard.press("Home")
    assert page.evaluate(STATE)["step"] == 0
    assert page.errors == []


def test_the_buttons_step_too(page, xor):
    _, _, screens = xor
    slots = page.evaluate("window.stepPage.slots")
    for _ in range(14):
        page.click("#next")
    state = page.evaluate(STATE)
    assert state["step"] == 14 and state["counter"] == f"step 15/{len(screens)}: backward 2/11"
    check_screen(state, slots, screens)
    page.click("#prev")
    state = page.evaluate(STATE)
    assert state["step"] == 13
    check_screen(state, slots, screens)
    assert page.errors == []


MEASURE = """() => {
  const svg = document.querySelector("#picture svg"), view = document.getElementById("picture").getBoundingClientRect();
  const scale = svg.getScreenCTM().a;  // CSS px per SVG unit
  const inside = id => { const r = document.getElementById(id).getBoundingClientRect();
                         return r.left >= view.left - 1 && r.right <= view.right + 1 && r.top >= view.top - 1 && r.bottom <= view.bottom + 1; };
  const px = el => parseFloat(getComputedStyle(el).fontSize);
  const cellPx = Math.min(...Array.from(svg.querySelectorAll("text[data-s]")).map(t => parseFloat(t.getAttribute("font-size")) * scale));
  const caption = document.getElementById("caption").getBoundingClientRect();
  const footer = document.querySelector("footer").getBoundingClientRect();
  return {cellPx, captionPx: px(document.getElementById("caption")), explainPx: Math.min(...Array.from(document.querySelectorAll("#explain div")).map(px), 99),
          legendPx: px(document.querySelector("footer")), current: Array.from(document.querySelectorAll("#picture .current")).map(e => [e.id, inside(e.id)]),
          captionOnScreen: caption.top >= 0 && caption.bottom <= innerHeight, legendOnScreen: footer.top >= 0 && footer.bottom <= innerHeight + 1};
}"""


def test_at_1280x720_the_current_node_its_op_and_the_caption_are_on_screen_in_large_type(page, xor):
    _, _, screens = xor
    for step in range(len(screens)):
        page.evaluate(f"window.stepPage.show({step})")
        m = page.evaluate(MEASURE)
        assert m["cellPx"] >= 14 and m["captionPx"] >= 14 and m["explainPx"] >= 14 and m["legendPx"] >= 14, m
        assert all(on for _, on in m["current"]), f"step {step}: {m['current']} not all in view"
        assert m["captionOnScreen"] and m["legendOnScreen"], m
    assert page.errors == []


def test_clicking_a_number_explains_that_element(page, xor):
    steps, _, screens = xor
    z = next(node for node, t, _, _ in steps.picture.values if steps.picture.names[node] == "z")
    step = next(i for i, (focus, _) in enumerate(screens) if focus and focus[0] == "v9" and i > 12)  # the rule of where
    page.evaluate(f"window.stepPage.show({step})")
    assert "∂loss/∂z[0,0] = ∂loss/∂h[0,0]" in page.inner_text("#explain")
    slots = page.evaluate("window.stepPage.slots")
    slot = next(s for s, (node, n, kind, _) in enumerate(slots) if node == z and kind == "g" and n == 3)
    page.click(f'text[data-s="{slot}"]')
    assert "∂loss/∂z[1,1] = ∂loss/∂h[1,1]" in page.inner_text("#explain")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowRight")  # the choice stays while stepping
    assert "∂loss/∂z[1,1]" in page.inner_text("#explain")
    assert page.errors == []


def test_backward_arrows_point_back_and_presenter_mode_enlarges_the_type(page, xor):
    _, _, screens = xor
    page.evaluate(f"window.stepPage.show({len(screens) - 5})")
    back = page.evaluate("""() => Array.from(document.querySelectorAll("g.edge.back path")).map(p => getComputedStyle(p).markerStart)""")
    assert back and all("back-arrow" in m for m in back)
    hidden_heads = page.evaluate("""() => Array.from(document.querySelectorAll("g.edge.back polygon")).every(p => getComputedStyle(p).display === "none")""")
    assert hidden_heads
    before = page.evaluate(MEASURE)
    page.keyboard.press("p")
    after = page.evaluate(MEASURE)
    assert page.evaluate("document.body.classList.contains('presenter')")
    assert after["captionPx"] >= before["captionPx"] + 4 and after["cellPx"] > before["cellPx"] * 1.2
    assert page.errors == []
