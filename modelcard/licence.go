package modelcard

import "strings"

// licences are the SPDX licence identifiers this package recognises in
// version.licence and dataset licences, in SPDX's spelling, each with the
// Hugging Face Hub's licence keyword ("" where the Hub has none). A
// licence not in this list is written by name in CycloneDX and left out
// of the Hugging Face metadata.
var licences = []struct{ spdx, hf string }{
	{"0BSD", ""},
	{"AFL-3.0", "afl-3.0"},
	{"AGPL-3.0-only", "agpl-3.0"},
	{"AGPL-3.0-or-later", "agpl-3.0"},
	{"Apache-2.0", "apache-2.0"},
	{"Artistic-2.0", "artistic-2.0"},
	{"BSD-2-Clause", "bsd-2-clause"},
	{"BSD-3-Clause", "bsd-3-clause"},
	{"BSD-3-Clause-Clear", "bsd-3-clause-clear"},
	{"BSL-1.0", "bsl-1.0"},
	{"C-UDA-1.0", "c-uda"},
	{"CC-BY-2.0", "cc-by-2.0"},
	{"CC-BY-2.5", "cc-by-2.5"},
	{"CC-BY-3.0", "cc-by-3.0"},
	{"CC-BY-4.0", "cc-by-4.0"},
	{"CC-BY-NC-2.0", "cc-by-nc-2.0"},
	{"CC-BY-NC-3.0", "cc-by-nc-3.0"},
	{"CC-BY-NC-4.0", "cc-by-nc-4.0"},
	{"CC-BY-NC-ND-3.0", "cc-by-nc-nd-3.0"},
	{"CC-BY-NC-ND-4.0", "cc-by-nc-nd-4.0"},
	{"CC-BY-NC-SA-2.0", "cc-by-nc-sa-2.0"},
	{"CC-BY-NC-SA-3.0", "cc-by-nc-sa-3.0"},
	{"CC-BY-NC-SA-4.0", "cc-by-nc-sa-4.0"},
	{"CC-BY-ND-4.0", "cc-by-nd-4.0"},
	{"CC-BY-SA-3.0", "cc-by-sa-3.0"},
	{"CC-BY-SA-4.0", "cc-by-sa-4.0"},
	{"CC0-1.0", "cc0-1.0"},
	{"CDLA-Permissive-1.0", "cdla-permissive-1.0"},
	{"CDLA-Permissive-2.0", "cdla-permissive-2.0"},
	{"CDLA-Sharing-1.0", "cdla-sharing-1.0"},
	{"ECL-2.0", "ecl-2.0"},
	{"EPL-1.0", "epl-1.0"},
	{"EPL-2.0", "epl-2.0"},
	{"etalab-2.0", "etalab-2.0"},
	{"EUPL-1.1", "eupl-1.1"},
	{"EUPL-1.2", ""},
	{"GFDL-1.3-only", "gfdl"},
	{"GFDL-1.3-or-later", "gfdl"},
	{"GPL-2.0-only", "gpl-2.0"},
	{"GPL-2.0-or-later", "gpl-2.0"},
	{"GPL-3.0-only", "gpl-3.0"},
	{"GPL-3.0-or-later", "gpl-3.0"},
	{"ISC", "isc"},
	{"LGPL-2.1-only", "lgpl-2.1"},
	{"LGPL-2.1-or-later", "lgpl-2.1"},
	{"LGPL-3.0-only", "lgpl-3.0"},
	{"LGPL-3.0-or-later", "lgpl-3.0"},
	{"LGPLLR", "lgpl-lr"},
	{"LPPL-1.3c", "lppl-1.3c"},
	{"MIT", "mit"},
	{"MPL-2.0", "mpl-2.0"},
	{"MS-PL", "ms-pl"},
	{"NCSA", "ncsa"},
	{"ODbL-1.0", "odbl"},
	{"ODC-By-1.0", "odc-by"},
	{"OFL-1.1", "ofl-1.1"},
	{"OSL-3.0", "osl-3.0"},
	{"PDDL-1.0", "pddl"},
	{"PostgreSQL", "postgresql"},
	{"Unlicense", "unlicense"},
	{"WTFPL", "wtfpl"},
	{"Zlib", "zlib"},
}

// spdxLicence returns the SPDX identifier, in SPDX's spelling, of a
// licence written as one (in any case, with the deprecated forms "GPL-3.0"
// and "GPL-3.0+" read as "-only" and "-or-later"), and the Hugging Face
// keyword for it.
func spdxLicence(s string) (spdx, hf string, ok bool) {
	t := strings.TrimSpace(s)
	if rest, plus := strings.CutSuffix(t, "+"); plus {
		t = rest + "-or-later"
	}
	for _, try := range []string{t, t + "-only"} {
		for _, l := range licences {
			if strings.EqualFold(l.spdx, try) {
				return l.spdx, l.hf, true
			}
		}
	}
	return "", "", false
}
