"""Shared set-up for the browser tests (Debian's Chromium through Playwright)."""

# Headless Chromium as root, with nothing reaching outside the machine.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
