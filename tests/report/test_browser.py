"""report.html in a real browser (headless Chromium): loads without console errors, shows its
tables and images. Skipped, with the reason, only where Chromium cannot be installed."""

import shutil

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium (test extra) is not installed")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="Chromium/ChromeDriver not installed (Debian packages chromium, chromium-driver; "
           "`python3 dev.py test` installs them where apt-get is available as root)")

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument("--window-size=1200,1600")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory):
    from assay.demo import run_demo

    out = tmp_path_factory.mktemp("browser") / "report"
    run_demo(out, model_kind="logistic", random_state=0, echo=lambda line: None)
    return out / "report.html"


def _errors(driver):
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def test_console_errors_are_detected(browser, tmp_path):
    page = tmp_path / "broken.html"
    page.write_text('<html><body><script>console.error("planted")</script></body></html>')
    browser.get(page.as_uri())
    assert any("planted" in e["message"] for e in _errors(browser))


def test_demo_report_renders_without_errors(browser, demo_report, tmp_path):
    browser.get(demo_report.as_uri())
    assert _errors(browser) == []
    assert browser.title.startswith("assay")
    tables = browser.find_elements("tag name", "table")
    assert len(tables) >= 4
    assert demo_report.stat().st_size < 3_000_000  # self-contained, figures included, still light to open and mail
    assert "Female x Black" in browser.find_element("tag name", "body").text
    images = browser.find_elements("tag name", "img")
    assert len(images) >= 4
    widths = [browser.execute_script("return arguments[0].naturalWidth", img) for img in images]
    assert all(w > 100 for w in widths), widths  # every embedded PNG decoded
    browser.save_screenshot(str(tmp_path / "report.png"))
    assert (tmp_path / "report.png").stat().st_size > 10_000


_LAYOUT = """
const doc = document.documentElement;
const links = [...document.querySelectorAll('nav.toc a')].map(a => a.getAttribute('href'));
const findings = [...document.querySelectorAll('ul.findings a')].map(a => a.getAttribute('href'));
const rows = [...document.querySelectorAll('tr')].filter(r => !r.closest('details:not([open])'));
return {overflow: doc.scrollWidth - doc.clientWidth,
        links: links, unresolved: links.concat(findings).filter(h => !document.getElementById(h.slice(1))),
        findings: findings.length,
        tallest: Math.max(0, ...rows.map(r => r.getBoundingClientRect().height)),
        images: [...document.images].map(i => i.complete && i.naturalWidth),
        tocSticky: getComputedStyle(document.querySelector('nav.toc')).position};
"""


@pytest.mark.parametrize("width", [1600, 1300, 800])  # 1600: panels put tables beside their plots
def test_demo_report_fits_the_window_and_its_links_resolve(browser, demo_report, width):
    browser.set_window_size(width, 1200)
    browser.get(demo_report.as_uri())
    assert _errors(browser) == []
    page = browser.execute_script(_LAYOUT)
    assert page["overflow"] <= 0, page["overflow"]  # the body never scrolls sideways; wide tables scroll inside
    assert len(page["links"]) >= 8 and page["findings"] >= 5 and page["unresolved"] == []
    assert page["tallest"] <= 120, page["tallest"]
    assert page["images"] and all(w and w > 0 for w in page["images"]), page["images"]
    assert page["tocSticky"] == ("sticky" if width >= 1000 else "static")
    badges = browser.find_elements("css selector", ".verdict .badge")
    assert [b.text.split()[-1].lower() for b in badges[1:]] == ["error", "fail", "warn", "pass"]


def test_demo_report_prints_without_navigation_and_a_page_per_section(browser, demo_report):
    browser.get(demo_report.as_uri())
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        style = browser.execute_script(
            "const s = e => getComputedStyle(document.querySelector(e));"
            "return [s('nav.toc').display, s('section#findings').breakBefore, s('section#top').breakBefore];")
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert style == ["none", "page", "auto"]
    pdf = browser.execute_cdp_cmd("Page.printToPDF", {})["data"]
    assert len(pdf) > 10_000


def test_assay_report_pdf_prints_the_report(demo_report, tmp_path, capsys):
    import shutil as _shutil

    from assay.cli import main

    run_dir = tmp_path / "run"
    _shutil.copytree(demo_report.parent, run_dir)
    assert main(["report", str(run_dir), "--pdf"]) == 0
    pdf = run_dir / "report.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 10_000
    assert f"wrote {pdf}" in capsys.readouterr().out
