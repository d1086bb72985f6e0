"""Contract tests of TicketEvent and TicketFactory on Ganache, through brownie's pytest plugin.

A package (not loose modules) so that its test module names (test_orders.py, ...) never clash
with same-named modules elsewhere under tests/.
"""
