"""One small script per scenario; each defines SCENARIO (an experiments.harness.Scenario)."""
