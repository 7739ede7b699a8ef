"""People answer on the approvals page, in headless Chromium against a real
``matterstack human serve``: a request appears on an open page, a wrong value is shown next to
its field and fixed, the approval reaches ``analyze`` on the next tick; the catalyst example
runs end to end on a phone-wide page; two people answering at once get one winner.

Screenshots go to ``$MATTERSTACK_SCREENSHOTS`` when it is set (docs/images is made so),
else into the test's temporary folder.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from browser import PHONE_WIDTH, open_browser, screenshot
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as shown
from selenium.webdriver.support.ui import Select, WebDriverWait
from serve_kit import ApprovalsServer, add_review_workspace
from test_human_cli import wait_for_request

TASK = "choose_conditions"
WAIT_SECONDS = 15


def screenshots(tmp_path: Path) -> Path:
    return Path(os.environ.get("MATTERSTACK_SCREENSHOTS") or tmp_path / "screenshots")


def wait_for(driver, selector: str):
    return WebDriverWait(driver, WAIT_SECONDS).until(shown.presence_of_element_located((By.CSS_SELECTOR, selector)))


def fill(driver, name: str, text: str) -> None:
    box = driver.find_element(By.NAME, name)
    box.clear()
    box.send_keys(text)


def fill_review_form(driver, temperature: str, who: str) -> None:
    fill(driver, "field.temperature_K", temperature)
    for metal in ("Pt", "Ni"):
        driver.find_element(By.CSS_SELECTOR, f'input[name="field.metals"][value=\'"{metal}"\']').click()
    Select(driver.find_element(By.NAME, "field.support")).select_by_visible_text("silica")
    Select(driver.find_element(By.NAME, "field.dry_first")).select_by_visible_text("yes")
    fill(driver, "name", who)


def approve(driver) -> None:
    driver.find_element(By.CSS_SELECTOR, 'button[value="approve"]').click()


def test_a_request_appears_a_wrong_value_is_shown_on_its_field_and_the_fixed_answer_reaches_analyze(
        project, browser, tmp_path):
    # given the page open on a project whose run has not asked anything yet
    add_review_workspace(project)
    run_id = project.init("review")
    server = ApprovalsServer(project)
    try:
        browser.get(server.url)
        assert "No request waits for a person" in wait_for(browser, "main").text

        # when the run asks, the open page shows the request by itself
        project.ok("step", run_id)
        card = wait_for(browser, "section.request")
        assert TASK in card.text and f"run {run_id}" in card.text
        assert "Choose the synthesis conditions" in card.text and "candidates.csv" in card.text
        screenshot(browser, screenshots(tmp_path) / "approvals-list.png")

        # and a person answers with a temperature above the schema's maximum
        card.find_element(By.LINK_TEXT, "Answer").click()
        fill_review_form(browser, "1200", "Ada Lovelace")
        approve(browser)

        # then the field says why, the other values are kept, and nothing is written
        error = wait_for(browser, "#field-temperature_K .error")
        assert error.text == "1200 is above the maximum 900"
        assert "refused, nothing was written" in browser.find_element(By.ID, "problems").text
        assert browser.find_element(By.CSS_SELECTOR, 'input[value=\'"Ni"\']').is_selected()
        assert not (project.attempt_dir(run_id, TASK) / "response.json").exists()
        screenshot(browser, screenshots(tmp_path) / "approvals-field-error.png")

        # when the value is fixed and approved
        fill(browser, "field.temperature_K", "600")
        approve(browser)
        assert "Approved by Ada Lovelace" in wait_for(browser, "#answered").text

        # then the next tick hands the typed data to analyze, and the open page follows
        project.ok("step", run_id)
        answer = project.campaign_state(run_id)["analyzed"][TASK]
        assert answer["status"] == "COMPLETED"
        assert answer["data"] == {"temperature_K": 600, "metals": ["Pt", "Ni"], "support": "silica", "dry_first": True}
        assert "COMPLETED" in wait_for(browser, "#not-waiting").text
    finally:
        printed = server.stop()
    assert f"{TASK} approved by Ada Lovelace" in printed


def test_the_catalyst_example_runs_end_to_end_with_its_approval_given_on_a_phone(project, tmp_path):
    project.add_catalyst()
    run_id = project.init("catalyst")
    wait_for_request(project, run_id, "approve_shortlist")
    server = ApprovalsServer(project, "--name", "Grace Hopper")
    try:
        with open_browser(width=PHONE_WIDTH, height=800) as phone:
            phone.get(server.url)
            wait_for(phone, "section.request").find_element(By.LINK_TEXT, "Answer").click()
            fill(phone, "field.keep", "Pt, Pd")
            screenshot(phone, screenshots(tmp_path) / "approvals-phone.png")
            overflow = phone.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"the page is {overflow}px wider than a phone"
            approve(phone)
            assert "Approved by Grace Hopper" in wait_for(phone, "#answered").text
    finally:
        server.stop()

    project.ok("loop", run_id, "--max-ticks", "30", "--interval", "0.05")
    state = project.campaign_state(run_id)
    assert state["approval"] == {"keep": "Pt, Pd"} and state["approved"] == ["Pt", "Pd"]
    assert sorted(state["refined"]) == ["Pd", "Pt"]
    response = json.loads((project.attempt_dir(run_id, "approve_shortlist") / "response.json").read_text())
    assert response["responded_by"] == "Grace Hopper"


def test_two_people_approving_at_the_same_moment_yield_one_answer(project, browser):
    add_review_workspace(project)
    run_id = project.init("review")
    project.ok("step", run_id)
    server = ApprovalsServer(project)
    try:
        with open_browser() as second:
            people = {"Ada": browser, "Grace": second}
            for who, driver in people.items():
                driver.get(server.url)
                wait_for(driver, "section.request").find_element(By.LINK_TEXT, "Answer").click()
                fill_review_form(driver, "600", who)
            together = threading.Barrier(len(people))

            def press(driver):
                together.wait()
                approve(driver)

            pressing = [threading.Thread(target=press, args=(driver,)) for driver in people.values()]
            for thread in pressing:
                thread.start()
            for thread in pressing:
                thread.join()
            outcomes = {who: wait_for(driver, "#answered").text for who, driver in people.items()}
            refused = {who for who, driver in people.items() if driver.find_elements(By.ID, "problems")}
    finally:
        server.stop()

    winner = json.loads((project.attempt_dir(run_id, TASK) / "response.json").read_text())["responded_by"]
    assert winner in people and refused == set(people) - {winner}
    assert all(text.startswith(f"Approved by {winner} at ") for text in outcomes.values())
