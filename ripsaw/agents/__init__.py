"""Agents: multi-turn tool use in a repository task's workspace, against the clock (`[run] strategy = "agent"`).

    actions.py   what the model is told, how its reply becomes one command (native tool call or a fenced block)
    loop.py      the solver: turns of model call → command in the attempt's container → observation, with limits
    scoring.py   anytime scoring: the hidden tests' verdict on the snapshot in force at each budget mark

The agent's container and its snapshots are ripsaw.sandboxes.workspace; its verdict, which never trusts the agent's
container, is ripsaw.verdict.repo.
"""
