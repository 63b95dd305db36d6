"""Deliverables for a task the PM agent delegates: templates, change-set scripts, runbook, report.

The pieces meet at `plan.py`: the templates writer returns a `DeliveryPlan` (the stacks in deploy
order with their parameter files), and the scripts, runbook and report are written from it.
"""
