"use strict";
// Back from the agency's sign-in: the token goes into this tab only, and the page that
// asked for the sign-in replaces this one (the callback's address leaves the history).
sessionStorage.setItem("homeward-token", document.body.dataset.token);
sessionStorage.removeItem("homeward-signed-out");
location.replace(document.body.dataset.next);
