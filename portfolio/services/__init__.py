"""Write-side logic: every change to the portfolio goes through a function here."""
