"""The test harness shared by tests/integration and tests/kernel: fixtures, the Docker tier, headless Chromium."""
