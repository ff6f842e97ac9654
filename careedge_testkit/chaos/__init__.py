"""Chaos runs: a care home and its cloud under SIGKILL, SIGSTOP and link cuts, then reconciled."""
