"""Telling the site owner: the outbox (``outbox``), e-mail (``email``), the CRM webhook
(``webhook``) and the daily digest (``digest``); their jobs in ``tasks``."""
