// Charts drawn as SVG by the page: no library, nothing fetched.
