"""Cases: the follow-up of every bad review (差评整改闭环).

- ``book``: the case state machine (pure)
- ``deadlines``: working-day deadlines (chinese-calendar)
- ``step``: ``cases.events`` → case state → overdue warnings on ``alerts.cases``
"""
