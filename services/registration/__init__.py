"""Registration: patients and their coverages; publishes patient.registered."""
