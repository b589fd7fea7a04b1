"""Customs declarations of paid payments (Antom ``declare``): model, rules, page section and jobs."""
