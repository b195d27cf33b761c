-- The HTTP ceiling: the same binary answering its cheapest route.
wrk.path = "/healthz"
