import imagegen

imagegen.register("imagegen_testapp.Banner", "picture", specs=[imagegen.VariantSpec("thumb", processor="sketch", format="png", size=32)])
