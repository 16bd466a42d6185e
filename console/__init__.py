"""The staff side at the edge: the staff HTTP API (`console.staff_api`: broadcasts,
`console.tickets_api`: tickets, with bearer-token authentication) and the staff
console built on the same services, server-rendered (`console.web.setup`): accounts
and roles (`console.accounts`, `console.permissions`), sessions and the login rate
limit (`console.sessions`), the audit log (`console.audit`), and the pages of
tickets, broadcasts and the grid directory (`console.pages_*`), with a navigation
that later modules register their pages into (`console.nav`)."""
