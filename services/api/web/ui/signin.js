"use strict";
// Back from the agency's sign-in: the token goes into this tab only, and the page that
// asked for the sign-in replaces this one (the callback's address leaves the history).
sessionStorage.setItem("homeward-token", document.body.dataset.token);
// The ID token only goes back to the provider on signing out (its id_token_hint).
sessionStorage.setItem("homeward-id-token", document.body.dataset.idToken);
// Who the node found the token to be: its subject and roles as the node reads them.
sessionStorage.setItem("homeward-who", document.body.dataset.who);
sessionStorage.removeItem("homeward-signed-out");
location.replace(document.body.dataset.next);
