"""Daily and weekly health reports and the deployment impact report (issue 18)."""
