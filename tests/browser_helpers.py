"""Headless Chromium for the report tests (selenium + Debian's chromium and chromedriver)."""

from __future__ import annotations

import shutil

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")


def chromium():
    """A headless Chromium driver that loads nothing from the network on its own."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--no-first-run", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        opts.add_argument(a)
    opts.binary_location = CHROMIUM
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


def table_rows(driver, table_id: str) -> list[list[str]]:
    """The text of each body cell of the report table with this id, row by row."""
    from selenium.webdriver.common.by import By

    table = driver.find_element(By.ID, table_id)
    return [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
            for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr")]


def ci_text(est: float, lo: float, hi: float) -> str:
    """An estimate with its CI as every report prints it: ``0.812 (0.701–0.905)``."""
    return f"{est:.3f} ({lo:.3f}\u2013{hi:.3f})"
