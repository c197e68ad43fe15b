// Latchkey response_mode=form_post: posts the answer to the application at once. Without
// scripts, the page's Continue button does the same.
"use strict";
document.getElementById("form-post").submit();
