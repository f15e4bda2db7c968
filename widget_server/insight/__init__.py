"""Where leads come from and what works: sources, the funnel, A/B tests, working the leads (issue 15)."""
