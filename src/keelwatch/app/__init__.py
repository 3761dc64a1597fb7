"""Use cases that join the core analysis to the store: used alike by the CLI, the API and jobs."""
