package graph

import "text/template"

// vocabFuncs are the template helpers for turning RDFS/OWL vocabularies
// into code; TemplateFuncs includes them.
func vocabFuncs() template.FuncMap {
	return template.FuncMap{}
}
