"""Claims: coded encounters + coverage -> priced, scrubbed 837P claims, submitted to the clearinghouse."""
