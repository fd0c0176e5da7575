"""Plain facts the layers hand one another: services and the planner decide them, render words them."""
