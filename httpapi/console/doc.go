// Package console is the browser console every node serves at /_console/:
// server-rendered pages (html/template, files embedded in the binary) over
// the node's own REST API. Every action is a request to that API, made in
// process with the signed-in user's credential from the session cookie, so
// the console authorizes exactly as the API does and adds nothing to the
// authentication path.
//
// A session is three cookies, all HttpOnly and SameSite=Strict (and Secure
// under TLS): the credential (an access token from a password grant, or a
// pasted API key), the refresh token, and a random session id that the
// CSRF token of every form is derived from. Nothing is kept on the server,
// so a session works on every node of the cluster.
package console
