# BEGIN hostmapgen: generated from the panel export; edit outside this block
xyz00.example.net
mail.example.net
example.com
example.net
example.org
shop.example
shop.example.net
# END hostmapgen
