"""Numbers from run directories, computed without running anything: metrics, paired comparisons, Pareto
frontiers, time budgets and projections, and the summary that report, gate and leaderboard all read."""
