"""The headless browser the page tests use starts offline and takes whole-page screenshots."""

from __future__ import annotations

from browser import PHONE_WIDTH, screenshot


def test_browser_renders_a_local_page_and_screenshots_it_whole(browser, tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<!doctype html><title>hello</title><body style='height:1500px'><h1 id=h>Hello</h1>")

    browser.get(page.as_uri())
    shot = screenshot(browser, tmp_path / "shots" / "page.png", width=PHONE_WIDTH)

    assert browser.title == "hello"
    assert browser.find_element("id", "h").text == "Hello"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
