# Rule sets, the tier pathway, programmes, referrals and deliveries arrive with later issues.
