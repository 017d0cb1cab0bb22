"""Cases in the style of Backlog: projects, cases, one timeline, Japanese search, inquiry
forms, escalation, notifications, webhooks and KPT retrospectives (``docs/cases.md``)."""
