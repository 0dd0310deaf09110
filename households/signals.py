from django.dispatch import Signal

# Sent after the transaction that changed a household's or its members' data has committed.
# Arguments: household_id. Interventions listens to queue the household's recalculation.
household_data_changed = Signal()

# Sent inside the transaction that stores a new visit (so a receiver's writes share its fate).
# Arguments: visit, actor. A receiver returns True when it verified the household (interventions
# moves a registered household to verified on its first visit where someone was met).
visit_recorded = Signal()
