from django.dispatch import Signal

# Sent after the transaction that changed a household's or its members' data has committed.
# Arguments: household_id. Interventions listens to queue the household's recalculation.
household_data_changed = Signal()
