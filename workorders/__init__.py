"""The 差评 work-order loop in the browser (issue 27): the office and the departments sign in,
see their cases and act on them; every action goes to ``cases.actions`` for the worker to judge.
"""
